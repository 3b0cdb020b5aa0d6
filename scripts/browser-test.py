#!/usr/bin/env python3
"""The heatmap page in a real browser: Debian's chromium, headless, driven over the Chrome
DevTools protocol on a pipe (--remote-debugging-pipe: no port, no network), against demo nodes
on 127.0.0.1. Python standard library only.

Run 1 (plain HTTP): a demo node with one fixed hotspot runs a few seconds, then stops its
workload and keeps serving (--linger), so the matrix is frozen and the page and this script see
the same data. Checked:
  1. the page loads and draws with no console error, no uncaught exception, no failed request;
  2. the page's matrix has as many rows and columns as the API reports for the page's own query,
     and the canvas shows that grid: sampled at each cell's centre, a zero cell is background,
     a non-zero cell is not, and within a column a larger value is never darker;
  3. the brightest row on the canvas is the API's hottest row and holds the workload's hotspot
     key (computed here from the seed, independently of the node);
  4. hovering a chosen cell shows the API's route, key range, column time and value;
  5. dragging a rectangle re-queries with from_unix_ms/to_unix_ms of the first and last selected
     columns, start_key/end_key of the first and last selected rows, and the same rows budget;
     the zoomed page matches the API's answer to that query; double-click resets;
  6. the series switch re-queries; the PNG download writes a PNG.
Run 2 (TLS + basic auth): the page loads through the browser's auth challenge, its same-origin
fetches carry the credentials, and it draws the API's grid with no console error.

Screenshots go to the artifact directory (printed; kept). `--screenshot PATH` also writes the
run-1 page there (the README picture).

Usage: scripts/browser-test.py [--demo .build/release/keyviz-demo] [--artifacts DIR] [--screenshot PATH]
"""
import argparse
import base64
import json
import os
import queue
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

DEADLINE = time.monotonic() + 420          # the whole script, all runs
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from keyviz_checks import check, failures as FAILURES, passed as PASSED  # noqa: E402



def left():
    if time.monotonic() > DEADLINE:
        raise TimeoutError("browser test over its time limit")
    return DEADLINE - time.monotonic()


# ---------------------------------------------------------------- the demo node

class Demo:
    def __init__(self, binary, workdir, name, flags):
        self.log = os.path.join(workdir, name + ".log")
        self.proc = subprocess.Popen([binary, "--listen", "127.0.0.1:0", "--status-every", "60"] + flags,
                                     stdout=subprocess.DEVNULL, stderr=open(self.log, "w"))
        self.port = None
        while self.port is None:
            left()
            m = re.search(r"serving https?://127\.0\.0\.1:(\d+)", self.text())
            if m:
                self.port = int(m.group(1))
            elif self.proc.poll() is not None:
                raise RuntimeError("demo exited: " + self.text())
            else:
                time.sleep(0.1)

    def text(self):
        with open(self.log) as f:
            return f.read()

    def wait_frozen(self):
        """The workload and flusher have stopped (the demo printed its totals): the matrix is fixed."""
        while "observed reads=" not in self.text():
            left()
            time.sleep(0.1)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def api(base, path, auth=None):
    req = urllib.request.Request(base + path)
    if auth:
        req.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    ctx = ssl._create_unverified_context() if base.startswith("https") else None
    with urllib.request.urlopen(req, timeout=10, context=ctx) as r:
        return json.load(r)


# ---------------------------------------------------------------- the browser

class Chromium:
    """Chromium with the DevTools protocol on fds 3 (commands in) and 4 (replies out)."""

    def __init__(self, workdir, extra=()):
        self.profile = tempfile.mkdtemp(prefix="profile-", dir=workdir)
        to_browser_r, to_browser_w = os.pipe()
        from_browser_r, from_browser_w = os.pipe()
        import fcntl
        hi_r = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD, 10)
        hi_w = fcntl.fcntl(from_browser_w, fcntl.F_DUPFD, 10)

        def child():
            os.dup2(hi_r, 3)
            os.dup2(hi_w, 4)
        self.log = open(os.path.join(workdir, "chromium.log"), "a")
        self.proc = subprocess.Popen(
            ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
             "--disable-extensions", "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--hide-scrollbars", "--mute-audio", "--window-size=1400,800", "--remote-debugging-pipe",
             "--user-data-dir=" + self.profile, *extra, "about:blank"],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log, preexec_fn=child, pass_fds=(3, 4))
        for fd in (to_browser_r, from_browser_w, hi_r, hi_w):
            os.close(fd)
        self.out = os.fdopen(to_browser_w, "wb", buffering=0)
        self.inp = os.fdopen(from_browser_r, "rb", buffering=0)
        self.next_id = 0
        self.replies = {}
        self.events = queue.Queue()
        self.all_events = []
        self.cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        buf = b""
        while True:
            chunk = self.inp.read(65536)
            if not chunk:
                with self.cond:
                    self.replies[-1] = None
                    self.cond.notify_all()
                return
            buf += chunk
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                msg = json.loads(raw)
                if "id" in msg:
                    with self.cond:
                        self.replies[msg["id"]] = msg
                        self.cond.notify_all()
                else:
                    self.all_events.append(msg)
                    self.events.put(msg)

    def call(self, method, params=None, session=None, timeout=20):
        self.next_id += 1
        i = self.next_id
        msg = {"id": i, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        self.out.write(json.dumps(msg).encode() + b"\0")
        end = time.monotonic() + min(timeout, left())
        with self.cond:
            while i not in self.replies:
                if -1 in self.replies:
                    raise RuntimeError("chromium closed the pipe")
                if not self.cond.wait(max(0.01, end - time.monotonic())) and time.monotonic() > end:
                    raise TimeoutError(method)
            reply = self.replies.pop(i)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def close(self):
        try:
            self.call("Browser.close", timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Page:
    def __init__(self, browser, auth=None):
        self.b = browser
        target = browser.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.s = browser.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self.auth = auth
        for m in ("Runtime.enable", "Log.enable", "Page.enable", "Network.enable"):
            self.call(m)
        self.call("Emulation.setDeviceMetricsOverride", {"width": 1400, "height": 800, "deviceScaleFactor": 1, "mobile": False})
        if auth:
            self.call("Fetch.enable", {"handleAuthRequests": True, "patterns": [{"urlPattern": "*"}]})
        self.auth_challenges = 0
        self.stop_pump = False
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        # Answers paused requests (Fetch domain) as a person at the auth dialog would.
        while not self.stop_pump:
            try:
                ev = self.b.events.get(timeout=0.2)
            except queue.Empty:
                continue
            if ev.get("sessionId") != self.s:
                continue
            p = ev.get("params", {})
            try:
                if ev["method"] == "Fetch.requestPaused":
                    self.call("Fetch.continueRequest", {"requestId": p["requestId"]})
                elif ev["method"] == "Fetch.authRequired":
                    self.auth_challenges += 1
                    user, password = self.auth.split(":", 1)
                    self.call("Fetch.continueWithAuth", {"requestId": p["requestId"], "authChallengeResponse":
                                                         {"response": "ProvideCredentials", "username": user, "password": password}})
            except Exception as e:  # a request that went away meanwhile
                print("pump:", e, file=sys.stderr)

    def call(self, method, params=None):
        return self.b.call(method, params, session=self.s)

    def js(self, expr):
        r = self.call("Runtime.evaluate", {"expression": expr, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in r:
            raise RuntimeError("page JS failed: " + json.dumps(r["exceptionDetails"])[:500])
        return r["result"].get("value")

    def wait(self, expr, what, timeout=20):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            left()
            if self.js(expr):
                return True
            time.sleep(0.1)
        raise TimeoutError("waiting for " + what)

    def events(self, *methods):
        return [e for e in self.b.all_events if e.get("sessionId") == self.s and e["method"] in methods]

    def errors(self):
        out = []
        for e in self.events("Runtime.consoleAPICalled"):
            if e["params"]["type"] in ("error", "assert"):
                out.append("console." + e["params"]["type"] + ": " + json.dumps(e["params"]["args"])[:300])
        for e in self.events("Runtime.exceptionThrown"):
            out.append("exception: " + json.dumps(e["params"]["exceptionDetails"])[:300])
        for e in self.events("Log.entryAdded"):
            if e["params"]["entry"]["level"] == "error":
                out.append("log: " + e["params"]["entry"].get("text", "")[:300])
        return out

    def finish(self, what):
        """The end of a page's run: `what` holds when the page logged no error, exception or failed
        load (each one listed under the line), and the event pump stops."""
        errs = self.errors()
        check(not errs, what + "".join("\n     " + e for e in errs))
        self.stop_pump = True

    def mouse(self, kind, x, y, **kw):
        self.call("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, **kw})

    def screenshot(self, path):
        data = self.call("Page.captureScreenshot", {"format": "png"})["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))


# ---------------------------------------------------------------- what the page should show

def splitmix64(state):
    mask = (1 << 64) - 1
    state = (state + 0x9E3779B97F4A7C15) & mask
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
    return z ^ (z >> 31)


def hotspot_keys(seed, keys):
    """The workload's first hotspot, SplitMix64(seed).next() % keySpace, as a key ("key/" + 8
    digits), and the grid key that --keys maps it to (the hotspot's key minus its remainder
    modulo keySpace / keys). With seed 7 and 32 routes both lie in one route."""
    h = splitmix64(seed) % 100_000_000
    spacing = 100_000_000 // keys
    return [("key/%08d" % n).encode() for n in (h, h - h % spacing)]


def contains(row, key):
    start, end = base64.b64decode(row["start"]), base64.b64decode(row["end"])
    return start <= key and (end == b"" or key < end)


def local_hmsms(ms):
    t = time.localtime(ms / 1000)
    return "%02d:%02d:%02d.%03d" % (t.tm_hour, t.tm_min, t.tm_sec, ms % 1000)


def commas(n):
    return f"{n:,}"


def key_text(preview, is_end):
    return preview if preview != "" else ("(end)" if is_end else "(begin)")


GEOMETRY_JS = """(() => { const k = window.keyviz.state, b = document.getElementById('heat').getBoundingClientRect();
  return {plot: k.plot, dpr: k.dpr, left: b.left, top: b.top, url: k.lastURL, fetches: k.fetches, error: k.error,
          rows: k.m.rows.length, cols: k.m.column_unix_ms.length, ids: k.m.rows.map(r => r.row_id)}; })()"""


def cell_center(g, r, c, R, C):
    p = g["plot"]
    return p["x"] + (c + 0.5) * p["w"] / C, p["y"] + (r + 0.5) * p["h"] / R


def pixels(page, g, R, C):
    """RGB at every cell centre of the heat canvas, sampled in device pixels, as [row][col]."""
    pts = []
    for r in range(R):
        for c in range(C):
            x, y = cell_center(g, r, c, R, C)
            pts.append([int(x * g["dpr"]), int(y * g["dpr"])])
    flat = page.js("""(() => { const c = document.getElementById('heat').getContext('2d'); const pts = %s;
        return pts.map(([x, y]) => Array.from(c.getImageData(x, y, 1, 1).data.slice(0, 3))); })()""" % json.dumps(pts))
    return [flat[r * C:(r + 1) * C] for r in range(R)]


def lum(rgb):
    return 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2]


BACKGROUND = [13, 17, 23]


def check_grid(page, base, auth, label):
    g = page.js(GEOMETRY_JS)
    check(g["error"] is None, f"{label}: the page's last fetch succeeded ({g['error']})")
    m = api(base, g["url"], auth)
    R, C = len(m["rows"]), len(m["column_unix_ms"])
    check(R > 0 and C > 0, f"{label}: the API reports a non-empty matrix ({R} rows x {C} columns)")
    check(g["rows"] == R and g["cols"] == C, f"{label}: page draws {g['rows']} rows x {g['cols']} columns, API reports {R} x {C}")
    check(g["ids"] == [r["row_id"] for r in m["rows"]], f"{label}: page rows are the API's rows, in key order")
    px = pixels(page, g, R, C)
    zero_ok = all((px[r][c] == BACKGROUND) == (m["rows"][r]["values"][c] == 0) for r in range(R) for c in range(C))
    check(zero_ok, f"{label}: every cell centre is background exactly where the API value is 0")
    order_bad = 0
    for c in range(C):
        cells = sorted((m["rows"][r]["values"][c], lum(px[r][c])) for r in range(R))
        for (va, la), (vb, lb) in zip(cells, cells[1:]):
            if vb > va and lb + 1 < la:
                order_bad += 1
    check(order_bad == 0, f"{label}: within every column a larger API value is never drawn darker ({order_bad} inversions)")
    return g, m, px


def run_plain(args, work, browser):
    seed = 7
    demo = Demo(args.demo, work, "plain", ["--seed", str(seed), "--routes", "32", "--churn-period", "0", "--step", "0.5",
                                           "--hotspot-period", "86400", "--keys", "10000", "--rate", "20000", "--duration", "7", "--linger", "200"])
    try:
        demo.wait_frozen()
        base = f"http://127.0.0.1:{demo.port}"
        page = Page(browser)
        browser.call("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": work, "eventsEnabled": True})
        page.call("Page.navigate", {"url": base + "/"})
        page.wait("window.keyviz && window.keyviz.state.ready", "the first matrix to be drawn")
        time.sleep(0.5)

        g, m, px = check_grid(page, base, None, "load")
        q = urllib.parse.parse_qs(urllib.parse.urlparse(g["url"]).query)
        R, C = len(m["rows"]), len(m["column_unix_ms"])

        # 3: the brightest canvas row is the hottest API row and holds the hotspot key
        means = [sum(lum(p) for p in row) / C for row in px]
        bright = max(range(R), key=lambda r: means[r])
        totals = [sum(r["values"]) for r in m["rows"]]
        hottest = max(range(R), key=lambda r: totals[r])
        keys = hotspot_keys(seed, 10_000)
        check(bright == hottest, f"hotspot: brightest canvas row {bright} is the API's hottest row {hottest}")
        check(all(contains(m["rows"][bright], k) for k in keys),
              f"hotspot: the brightest row {m['rows'][bright]['row_id']} holds the workload's hotspot {keys[0].decode()} ({keys[1].decode()} on the key grid)")
        page.js("document.querySelector('#scale button[data-v=linear]').click()")
        time.sleep(0.2)
        lin = pixels(page, g, R, C)
        lmeans = [sum(lum(p) for p in row) / C for row in lin]
        check(max(range(R), key=lambda r: lmeans[r]) == hottest, "hotspot: on the linear scale too the hottest row is brightest")
        page.js("document.querySelector('#scale button[data-v=log]').click()")
        page.screenshot(os.path.join(args.artifacts, "heatmap.png"))
        if args.screenshot:
            page.screenshot(args.screenshot)

        # 4: hover a chosen cell: the hot row, a middle column
        r, c = hottest, C // 2
        x, y = cell_center(g, r, c, R, C)
        page.mouse("mouseMoved", g["left"] + x, g["top"] + y)
        page.wait("document.getElementById('tip').style.display === 'block'", "the hover tip")
        tip = page.js("Object.fromEntries([...document.querySelectorAll('#tip [data-k]')].map(e => [e.dataset.k, e.textContent]))")
        row, t = m["rows"][r], m["column_unix_ms"][c]
        want_routes = f"route {row['route_ids'][0]}" if not row["aggregate"] else f"{row['route_count']} routes merged"
        check(tip.get("routes", "").startswith(want_routes), f"hover: routes '{tip.get('routes')}' names {want_routes}")
        want_keys = f"[{key_text(row['start_preview'], False)}, {key_text(row['end_preview'], True)})"
        check(tip.get("keys") == want_keys, f"hover: key range '{tip.get('keys')}' == {want_keys}")
        want_time = f"{local_hmsms(t - m['step_ms'])} – {local_hmsms(t)}"
        check(tip.get("time") == want_time, f"hover: time '{tip.get('time')}' == {want_time}")
        want_value = f"{commas(row['values'][c])} ops"
        check(tip.get("value") == want_value, f"hover: value '{tip.get('value')}' == {want_value}")
        page.screenshot(os.path.join(args.artifacts, "hover.png"))

        # 5: drag a rectangle: columns c0..c1, rows r0..r1
        c0, c1 = 1, max(2, C - 3)
        r0, r1 = 2, min(R - 1, 9)
        ax, ay = cell_center(g, r0, c0, R, C)
        bx, by = cell_center(g, r1, c1, R, C)
        before = g["fetches"]
        page.mouse("mousePressed", g["left"] + ax, g["top"] + ay, button="left", clickCount=1)
        for k in range(1, 6):
            page.mouse("mouseMoved", g["left"] + ax + (bx - ax) * k / 5, g["top"] + ay + (by - ay) * k / 5, button="left")
        page.mouse("mouseReleased", g["left"] + bx, g["top"] + by, button="left", clickCount=1)
        page.wait(f"window.keyviz.state.fetches > {before} && window.keyviz.state.m.column_unix_ms.length < {C}", "the zoomed matrix")
        time.sleep(0.3)
        z = page.js(GEOMETRY_JS)
        zq = urllib.parse.parse_qs(urllib.parse.urlparse(z["url"]).query)
        one = lambda d, k: d.get(k, [None])[0]
        check(one(zq, "from_unix_ms") == str(m["column_unix_ms"][c0]), f"zoom: from_unix_ms={one(zq, 'from_unix_ms')} is column {c0}'s time {m['column_unix_ms'][c0]}")
        check(one(zq, "to_unix_ms") == str(m["column_unix_ms"][c1] + 1), f"zoom: to_unix_ms={one(zq, 'to_unix_ms')} is just past column {c1}'s time")
        check(one(zq, "start_key") == m["rows"][r0]["start"], f"zoom: start_key is row {r0}'s start")
        want_end = m["rows"][r1]["end"] or None
        check(one(zq, "end_key") == want_end, f"zoom: end_key is row {r1}'s end")
        check(one(zq, "rows") == one(q, "rows") and one(zq, "series") == one(q, "series"), "zoom: same rows budget and series")
        sent = [e["params"]["request"]["url"] for e in page.events("Network.requestWillBeSent")]
        check(any(u.endswith(z["url"]) for u in sent), "zoom: the browser really sent that request")
        zg, zm, _ = check_grid(page, base, None, "zoomed")
        check(len(zm["column_unix_ms"]) == c1 - c0 + 1, f"zoom: {len(zm['column_unix_ms'])} columns == the {c1 - c0 + 1} selected")
        want_rows = [r["row_id"] for r in m["rows"][r0:r1 + 1]]
        check([r["row_id"] for r in zm["rows"]] == want_rows, "zoom: the selected rows, and only they, are shown")
        page.screenshot(os.path.join(args.artifacts, "zoomed.png"))

        # the view is in the URL fragment: a reload shows the same zoom
        page.call("Page.reload")
        page.wait("window.keyviz && window.keyviz.state.ready && window.keyviz.state.lastURL === %s" % json.dumps(z["url"]), "the same view after a reload")
        check(True, "reload: the zoomed view survives a reload (kept in the URL fragment)")

        # double-click resets
        before = z["fetches"]
        cx, cy = cell_center(zg, 0, 0, len(zm["rows"]), len(zm["column_unix_ms"]))
        for n in (1, 2):
            page.mouse("mousePressed", zg["left"] + cx, zg["top"] + cy, button="left", clickCount=n)
            page.mouse("mouseReleased", zg["left"] + cx, zg["top"] + cy, button="left", clickCount=n)
        page.wait(f"window.keyviz.state.fetches > {before} && !/from_unix_ms|start_key/.test(window.keyviz.state.lastURL)", "the reset")
        page.wait(f"window.keyviz.state.m.column_unix_ms.length === {C}", "the full matrix again")
        check(True, "double-click: back to the whole matrix")

        # auto-refresh runs in the live view and stops on Pause (the node answers, frozen)
        page.js("(() => { const e = document.getElementById('every'); e.value = '1000'; e.dispatchEvent(new Event('change')); })()")
        n0 = page.js("window.keyviz.state.fetches")
        page.wait(f"window.keyviz.state.fetches >= {n0 + 2}", "two automatic refreshes", timeout=10)
        check(True, "auto-refresh: the live view re-fetches on its own")
        page.js("document.getElementById('pause').click()")
        time.sleep(0.3)
        n1 = page.js("window.keyviz.state.fetches")
        time.sleep(2.5)
        n2 = page.js("window.keyviz.state.fetches")
        check(n2 == n1, f"pause: no fetch in 2.5 s at a 1 s interval ({n2 - n1})")
        page.js("document.getElementById('pause').click()")
        page.wait(f"window.keyviz.state.fetches > {n2}", "a fetch after resume", timeout=5)
        check(True, "resume: fetching again")

        # 6: series switch and PNG download
        page.js("document.querySelector('#series button[data-v=reads]').click()")
        page.wait("/series=reads/.test(window.keyviz.state.lastURL) && window.keyviz.state.m.series === 'reads'", "the reads series")
        check_grid(page, base, None, "reads")
        page.js("document.getElementById('png').click()")
        end = time.monotonic() + 15
        pngs = []
        while time.monotonic() < end and not pngs:
            pngs = [f for f in os.listdir(work) if f.startswith("keyviz-reads-") and f.endswith(".png")]
            time.sleep(0.2)
        ok = bool(pngs) and open(os.path.join(work, pngs[0]), "rb").read(8) == b"\x89PNG\r\n\x1a\n"
        check(ok, f"download: the PNG button saved {pngs[0] if pngs else 'nothing'}")
        if pngs:
            shutil.copy(os.path.join(work, pngs[0]), os.path.join(args.artifacts, "download.png"))

        # 7: the range selector (paused, so the drawn matrix is the last URL's): from_unix_ms =
        # now - 1 h and resolution_ms = 1 h / 1500, answered from the demo's 60 s history tier
        page.js("document.getElementById('pause').click()")
        page.js("(() => { const e = document.getElementById('range'); e.value = '3600000'; e.dispatchEvent(new Event('change')); })()")
        page.wait("/resolution_ms=2400(&|$)/.test(window.keyviz.state.lastURL) && /from_unix_ms=/.test(window.keyviz.state.lastURL)"
                  " && window.keyviz.state.m.step_ms === 60000", "the 1 h range")
        _, rm, _ = check_grid(page, base, None, "range 1 h")
        check(all(t % 60000 == 0 for t in rm["column_unix_ms"]), f"range 1 h: minute columns from the 60 s tier {rm['column_unix_ms']}")

        page.finish("console: no errors, exceptions or failed loads")
    finally:
        demo.stop()


EVENT_COLOURS = {"split": [0x58, 0xa6, 0xff], "merge": [0xf0, 0x88, 0x3e], "add": [0x3f, 0xb9, 0x50],
                 "remove": [0xf8, 0x51, 0x49], "reshape": [0xd2, 0xa8, 0xff]}


def event_x(m, plot, t):
    """Where the API's event at `t` belongs on the time axis: in the first column stamped at or
    after t, in proportion to the time since the previous column (docs/api.md)."""
    cols, C = m["column_unix_ms"], len(m["column_unix_ms"])
    cw = plot["w"] / C
    j = next((j for j in range(C) if cols[j] >= t), C)
    if j == C:
        return plot["x"] + plot["w"]
    prev = cols[j - 1] if j > 0 else cols[j] - m["step_ms"]
    f = min(1, max(0, (t - prev) / (cols[j] - prev))) if cols[j] > prev else 1
    return plot["x"] + (j + f) * cw


def run_events(args, work, browser):
    """Route change events under churn: one marker per API event, at its time, in its kind's colour; hover names it."""
    demo = Demo(args.demo, work, "events", ["--seed", "5", "--routes", "16", "--churn-period", "0.4", "--step", "0.5",
                                            "--rate", "5000", "--duration", "6", "--linger", "200"])
    try:
        demo.wait_frozen()
        base = f"http://127.0.0.1:{demo.port}"
        page = Page(browser)
        page.call("Page.navigate", {"url": base + "/"})
        page.wait("window.keyviz && window.keyviz.state.ready", "the first matrix with events")
        time.sleep(0.3)
        g, m, _ = check_grid(page, base, None, "events")
        ev = m["events"]
        check(len(ev) >= 3, f"events: the churning node reports {len(ev)} route changes")
        marks = page.js("window.keyviz.state.marks.map(k => ({x: k.x, t: k.event.unix_ms, kind: k.event.kind}))")
        check([(k["t"], k["kind"]) for k in marks] == [(e["unix_ms"], e["kind"]) for e in ev],
              f"events: the page marks exactly the API's {len(ev)} events, in order")
        want = [event_x(m, g["plot"], e["unix_ms"]) for e in ev]
        off = max((abs(k["x"] - w) for k, w in zip(marks, want)), default=0)
        check(len(marks) == len(want) and off < 0.01, f"events: every marker sits at its event's time on the axis (max offset {off:.4f} px)")
        p, dpr = g["plot"], g["dpr"]
        y = p["y"] + p["h"] + 21 + 6   # inside the triangle, near its base
        pts = [[int(w * dpr), int(y * dpr)] for w in want]
        rgba = page.js("""(() => { const c = document.getElementById('overlay').getContext('2d');
            return %s.map(([x, y]) => Array.from(c.getImageData(x, y, 1, 1).data)); })()""" % json.dumps(pts))
        # Neighbouring markers may overlap; the drawn colour is then the later event's.
        drawn = []
        for i, (e, px) in enumerate(zip(ev, rgba)):
            later = [ev[k]["kind"] for k in range(i + 1, len(ev)) if abs(want[k] - want[i]) < 5]
            kinds = [e["kind"]] + later
            drawn.append(px[3] == 255 and any(max(abs(a - b) for a, b in zip(px[:3], EVENT_COLOURS[k])) <= 2 for k in kinds))
        check(all(drawn), f"events: a marker of the event's kind is drawn at every event's position ({drawn.count(False)} missing)")
        # Hover the marker furthest from its neighbours: the tip names the event and its routes.
        i = max(range(len(ev)), key=lambda i: min([abs(want[i] - want[k]) for k in range(len(ev)) if k != i] or [1e9]))
        page.mouse("mouseMoved", g["left"] + want[i], g["top"] + y)
        page.wait("document.getElementById('tip').style.display === 'block' && !!document.querySelector('#tip [data-k=event]')", "the event tip")
        tip = page.js("Object.fromEntries([...document.querySelectorAll('#tip [data-k]')].map(e => [e.dataset.k, e.textContent]))")
        e = ev[i]
        check(tip.get("event") == f"{e['kind']} at {local_hmsms(e['unix_ms'])}", f"events: hover text '{tip.get('event')}' names the {e['kind']} at its time")
        ids = [f"route {r['route_id']} [{key_text(r['start_preview'], False)}, {key_text(r['end_preview'], True)})" for r in e["before"]]
        check(all(s in tip.get("before", "") for s in ids), f"events: hover lists the routes before ({tip.get('before')})")
        page.screenshot(os.path.join(args.artifacts, "events.png"))
        page.finish("events: no console errors")
    finally:
        demo.stop()


def run_auto_split(args, work, browser):
    """--auto-split against a standing hot range: the API's events are the splits the node logged,
    the page marks the advised routes' rows and names the advice in the hot ranges table, and the
    hottest row's share falls as the load spreads."""
    demo = Demo(args.demo, work, "auto-split", ["--seed", "3", "--routes", "32", "--auto-split", "--step", "0.5",
                                                "--hotspot-period", "86400", "--keys", "10000", "--rate", "12000",
                                                "--duration", "24", "--linger", "200"])
    try:
        demo.wait_frozen()
        base = f"http://127.0.0.1:{demo.port}"
        logged = re.findall(r"auto-split route \d+ .* at (\S+) \(", demo.text())
        m = api(base, "/api/v1/keyviz/matrix?series=writes&rows=1024")
        splits = [e for e in m["events"] if e["kind"] == "split"]
        check(len(logged) >= 1 and len(splits) == len(logged),
              f"auto-split: the node split {len(logged)} times and the matrix reports {len(splits)} split events")
        check(all(any(r["start_preview"] == k for e in splits for r in e["after"]) for k in logged),
              "auto-split: each split's new right-hand route starts at the advised key")
        totals = [sum(r["values"][c] for r in m["rows"]) for c in range(len(m["column_unix_ms"]))]
        busy = [c for c, t in enumerate(totals) if t > 0]
        first_split = min(e["unix_ms"] for e in splits) if splits else 0
        before = [c for c in busy if m["column_unix_ms"][c] <= first_split][-4:]
        after = busy[-4:]
        def share(cols):
            sums = [sum(r["values"][c] for c in cols) for r in m["rows"]]
            return max(sums) / max(1, sum(sums))
        check(bool(before) and share(after) < 0.7 * share(before),
              f"auto-split: the hottest row's share falls as the load spreads ({share(before):.2f} before the first split, {share(after):.2f} at the end)")

        page = Page(browser)
        # Reads: 70% of the workload, so the newest routes have enough sampled reads to be advised.
        page.call("Page.navigate", {"url": base + "/#series=reads"})
        page.wait("window.keyviz && window.keyviz.state.ready && window.keyviz.state.splitMarks.length > 0", "the split advice markers")
        advice = [a for a in api(base, "/api/v1/keyviz/split-advice?op=read")["advice"] if a["verdict"] != "too_few_samples"]
        pm = page.js("window.keyviz.state.m.rows.map(r => r.route_ids)")
        marks = page.js("window.keyviz.state.splitMarks.map(k => ({row: k.row, route: k.route_id, verdict: k.verdict}))")
        want = sorted((next(i for i, ids in enumerate(pm) if a["route_id"] in ids), a["route_id"], a["verdict"])
                      for a in advice if any(a["route_id"] in ids for ids in pm))
        check(sorted((k["row"], k["route"], k["verdict"]) for k in marks) == want,
              f"auto-split: the page marks the row of every advised route ({len(want)}), with its verdict")
        lines = page.js("[...document.querySelectorAll('#top .advice')].map(d => d.textContent)")
        check(len(lines) >= 1 and all(("split at" in t) or ("one hot key" in t) for t in lines),
              f"auto-split: the hot ranges table names the advice ({lines[:2]})")
        g = page.js("""(() => { const c = document.getElementById('overlay'), r = c.getBoundingClientRect();
            return {plot: window.keyviz.state.plot, dpr: window.keyviz.state.dpr}; })()""")
        p, dpr = g["plot"], g["dpr"]
        ys = page.js("window.keyviz.state.splitMarks.map(k => k.y)")
        px = page.js("""(() => { const c = document.getElementById('overlay').getContext('2d');
            return %s.map(y => Array.from(c.getImageData(Math.floor((%f - 2) * %f), Math.floor(y * %f), 1, 1).data)); })()"""
                     % (json.dumps(ys), p["x"] + p["w"], dpr, dpr))
        check(all(q[3] == 255 for q in px), f"auto-split: a marker is drawn at the right edge of each advised row ({px})")
        page.screenshot(os.path.join(args.artifacts, "split-advice.png"))
        page.finish("auto-split: no console errors")
    finally:
        demo.stop()


def run_tls_auth(args, work, browser):
    key, cert = os.path.join(work, "key.pem"), os.path.join(work, "cert.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    user, password = "viewer", "page pass"
    hashed = subprocess.run(["openssl", "passwd", "-5", "-stdin"], input=password, capture_output=True, text=True, check=True).stdout.strip()
    authfile = os.path.join(work, "users")
    with open(authfile, "w") as f:
        f.write(f"{user}:{hashed}\n")
    demo = Demo(args.demo, work, "tls", ["--seed", "3", "--routes", "16", "--churn-period", "0", "--step", "0.5", "--rate", "5000",
                                         "--duration", "4", "--linger", "200", "--tls-cert", cert, "--tls-key", key,
                                         "--basic-auth-file", authfile])
    try:
        demo.wait_frozen()
        base = f"https://127.0.0.1:{demo.port}"
        page = Page(browser, auth=f"{user}:{password}")
        page.call("Page.navigate", {"url": base + "/"})
        page.wait("window.keyviz && window.keyviz.state.ready", "the first matrix over TLS with basic auth")
        check(page.auth_challenges >= 1, f"tls+auth: the browser was challenged ({page.auth_challenges}) and answered")
        check_grid(page, base, f"{user}:{password}", "tls+auth")
        page.screenshot(os.path.join(args.artifacts, "tls-auth.png"))
        page.finish("tls+auth: no console errors")
    finally:
        demo.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--demo", default=".build/release/keyviz-demo")
    ap.add_argument("--artifacts", default=None, help="where screenshots are kept (default: a new temp dir)")
    ap.add_argument("--screenshot", default=None, help="also write the run-1 page screenshot here")
    args = ap.parse_args()
    if shutil.which("chromium") is None:
        print("browser-test: chromium not installed (scripts/setup-debian.sh installs it)", file=sys.stderr)
        return 1
    args.artifacts = args.artifacts or tempfile.mkdtemp(prefix="keyviz-browser-artifacts-")
    os.makedirs(args.artifacts, exist_ok=True)
    work = tempfile.mkdtemp(prefix="keyviz-browser-")
    browser = Chromium(work, extra=["--ignore-certificate-errors"])
    try:
        browser.call("Browser.getVersion")
        run_plain(args, work, browser)
        run_events(args, work, browser)
        run_auto_split(args, work, browser)
        run_tls_auth(args, work, browser)
    except Exception as e:
        FAILURES.append(f"{type(e).__name__}: {e}")
        print(f"FAIL {type(e).__name__}: {e}", flush=True)
    finally:
        browser.close()
        for f in os.listdir(work):
            if f.endswith(".log"):
                shutil.copy(os.path.join(work, f), args.artifacts)
        shutil.rmtree(work, ignore_errors=True)
    print(f"browser-test: screenshots and logs in {args.artifacts}")
    print(f"browser-test: {PASSED[0]} passed, {len(FAILURES)} failed")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
