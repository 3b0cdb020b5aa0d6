#!/usr/bin/env python3
"""A real demo node against hostile peers, a hostile Prometheus, a hostile query and a hostile
state file: it must stay up, answer well-formed JSON and keep its memory bounded.

Every case starts its own demo node (`--listen 127.0.0.1:0`) and, where it needs one, its own
fake server on 127.0.0.1 (a thread in this script) that the node is pointed at with `--peers` or
`--prometheus-url`. The case sends one matrix request and then asserts:
- the request got a well-formed HTTP answer: 200 with a matrix JSON body (columns, unrouted and
  every row's values the same length, counts non-negative integers, `route_count` >= 1 as the
  OpenAPI schema says; a cluster answer lists the hostile peer in `nodes`, `ok` false is fine);
  for the extreme query of case 5 a JSON 400 is accepted too;
- the fake server was asked at all (else the case proved nothing);
- the node is still running and `GET /healthz` answers `ok`;
- its peak resident memory (VmHWM, else the largest VmRSS sampled) is under RSS_BOUND_MIB.
A node that dies is reported with its exit signal and the crash lines from its stderr. A node
whose RSS passes RSS_CEILING_MIB is killed at once (the machine is shared) and fails.

Cases (each prints "ok <case> (details)" or "FAIL <case>: why"):
 1. peer framing: `Content-Length: -1`; two different Content-Length headers;
    `Content-Length: 99999999999999999999`; a header section that never ends (1 MiB of header
    lines, then silence; or silence after the first header); a garbage status line; a status
    code of 20 digits.
 2. peer rows: two overlapping rows each with route_count 9223372036854775807; one row with
    route_count -9223372036854775808.
 3. fake Prometheus sample values "1e300", "NaN", "+Inf", "-1", "18446744073709551616".
 4. fake Prometheus sample times 1e300 and -1e300.
 5. `?scope=prometheus&to_unix_ms=9223372036854775807`, without and with `from_unix_ms=1`.
 6. a state file (`--state-dir`) with a valid CRC and one column stamped Int64.min: the node
    must serve the page's first query (`?series=writes&rows=400`) and the default one, then do
    the same again after a restart (no crash loop); the column must not be served (the file set
    aside, or restored without it).
 7. one peer answer of ~27 MB (1.5 M columns, one row overlapping one local row) against a node
    with 256 routes: RSS bounded (a rows x columns grid of it would be ~3 GB).
 8. a fake Prometheus answering 20 000 series of one sample each at distinct times (~1 MB):
    RSS bounded (a rows x columns grid of it would be ~3 GB).
Every server listens on 127.0.0.1 only; every node is stopped at the end of its case (SIGTERM,
then SIGKILL), and the fake servers with it. About a minute in all.

Nodes run with SWIFT_BACKTRACE=enable=no, so a trap kills at once and is reported by its signal;
`--backtraces` keeps the runtime's backtrace (the crashed thread's frames are quoted), at ~35 s
per crash (see BACKTRACE_EXIT_WAIT_S). Node logs are kept (path printed) when a case fails.

Usage: scripts/check-hostile-inputs.py [--demo .build/release/keyviz-demo] [--only SUBSTRING]
                                       [--backtraces] [--keep-logs]
                                       [--rss-bound-mib 400] [--rss-ceiling-mib 2048]
"""
import argparse
import http.client
import json
import os
import re
import shutil
import signal
import socket
import socketserver
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib

# ---------------------------------------------------------------- bounds (all in one place)

# Peak resident memory a node may reach in any case. The demo idles at ~26 MiB; a full local
# matrix answer (1 024 rows x 1 440 columns) is ~8 MB. Merely decoding case 7's 27 MB answer
# costs ~250 MiB on the build this script was written against (measured with a 1-route node,
# where no grid forms), so 400 MiB passes a node that decodes it and merges without a grid, and
# fails one that builds the grid: ~3.0 GiB for case 7, ~3.3 GiB for case 8 (measured).
RSS_BOUND_MIB = 400
# A node whose RSS passes this is SIGKILLed at once, so one bad build cannot take the shared
# machine's memory; it has failed the bound long before.
RSS_CEILING_MIB = 2048
# How often the RSS is sampled (VmHWM is read too while the node lives, so short peaks count).
RSS_SAMPLE_INTERVAL_S = 0.02
# The node's own peer timeout (--peer-timeout): connect to last byte per peer.
PEER_TIMEOUT_S = 5
# A node must print its address within this.
NODE_START_TIMEOUT_S = 30
# One matrix request to the node, connect to last byte. A cluster request is bounded by the
# peer timeout plus the merge; a Prometheus request by the view's fixed 5 s per query, twice.
REQUEST_TIMEOUT_S = 30
# Case 5 waits this long for the node's first local column (the view's range starts there).
COLUMNS_WAIT_S = 10
# GET /healthz after each case.
HEALTHZ_TIMEOUT_S = 5
# After a failed request: how long a node gets to exit (a trap without the backtracer is instant).
CRASH_EXIT_WAIT_S = 5
# With --backtraces, how long a crashing node gets to write its report and exit. The Swift
# runtime's crash handler first pauses every other thread, and the demo's main thread takes the
# pause signal (SIGUSR1) with sigtimedwait instead of pausing (it logs "heap in use" for each),
# so the handler retries 16 times 2 s: a crashed demo node takes ~32 s to die, serving meanwhile.
BACKTRACE_EXIT_WAIT_S = 45
# SIGTERM to exit (the node waits up to 5 s for requests in flight, then saves its state).
STOP_TIMEOUT_S = 15
# A fake server's socket reads and writes, and how long a "never ends" peer holds the line.
SERVER_IO_TIMEOUT_S = 10
HOLD_OPEN_S = PEER_TIMEOUT_S + 3
# Bytes of header lines the never-ending peer sends before falling silent.
ENDLESS_HEADER_BYTES = 1 << 20
# Columns of case 7's peer answer (~27 MB of JSON).
WIDE_COLUMNS = 1_500_000
# Series of case 8's Prometheus answer, one sample each (~1 MB of JSON).
MANY_SERIES = 20_000
# The whole script: cases not started by then fail as skipped. With --backtraces every crash
# costs BACKTRACE_EXIT_WAIT_S, so the limit is the second figure.
SCRIPT_DEADLINE_S = 240
SCRIPT_DEADLINE_BACKTRACES_S = 1200

INT64_MAX = 9223372036854775807
INT64_MIN = -9223372036854775808
BACKTRACES = False      # --backtraces: keep the Swift runtime's crash backtraces (slow, see above)

failures = []
passed = [0]


def report(case, problems, details=""):
    if problems:
        failures.append(case)
        print(f"FAIL {case}: " + "; ".join(problems), flush=True)
    else:
        passed[0] += 1
        print(f"ok {case}" + (f" ({details})" if details else ""), flush=True)


# ---------------------------------------------------------------- the fake servers

class HostileServer(socketserver.ThreadingTCPServer):
    """A raw HTTP server on 127.0.0.1: reads a request's head, records its target, and lets
    `answer(sock, target)` write whatever bytes the case wants."""
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, answer):
        self.answer = answer
        self.targets = []
        super().__init__(("127.0.0.1", 0), Handler)
        self.port = self.server_address[1]
        self.thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def stop(self):
        self.shutdown()
        self.server_close()


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        sock = self.request
        sock.settimeout(SERVER_IO_TIMEOUT_S)
        head = b""
        try:
            while b"\r\n\r\n" not in head and len(head) < 65536:
                chunk = sock.recv(4096)
                if not chunk:
                    return
                head += chunk
            line = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
            target = line[1] if len(line) > 1 else ""
            self.server.targets.append(target)
            self.server.answer(sock, target)
            sock.shutdown(socket.SHUT_WR)
            # Let the client read to the end before the close (no reset over unread bytes).
            deadline = time.monotonic() + SERVER_IO_TIMEOUT_S
            while time.monotonic() < deadline and sock.recv(65536):
                pass
        except OSError:
            pass


def http_answer(body, status="200 OK", headers=None):
    """A well-framed HTTP/1.0 answer (Content-Length unless the headers name one)."""
    h = headers if headers is not None else [f"Content-Length: {len(body)}"]
    return (f"HTTP/1.0 {status}\r\nContent-Type: application/json\r\n" + "".join(x + "\r\n" for x in h)
            + "Connection: close\r\n\r\n").encode() + body


def send_fixed(data):
    return lambda sock, target: sock.sendall(data)


def hold_open(sock):
    """Waits for the client to give up (its timeout) or HOLD_OPEN_S."""
    deadline = time.monotonic() + HOLD_OPEN_S
    sock.settimeout(0.2)
    while time.monotonic() < deadline:
        try:
            if not sock.recv(65536):
                return
        except socket.timeout:
            continue
        except OSError:
            return


def silent_headers(sock, target):
    sock.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n")
    hold_open(sock)


def endless_headers(sock, target):
    sock.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n")
    line = b"X-Filler: " + b"a" * 1000 + b"\r\n"
    sent = 0
    try:
        while sent < ENDLESS_HEADER_BYTES:
            sock.sendall(line)
            sent += len(line)
    except OSError:
        return
    hold_open(sock)


def now_ms():
    return int(time.time() * 1000)


def peer_matrix(rows, columns, step_ms=1000):
    """A node's matrix answer in the wire format (docs/api.md); rows are (start, end, route_count, values)."""
    out = {"series": "writes", "generated_at": "2026-01-01T00:00:00.000Z", "step_ms": step_ms,
           "column_unix_ms": columns, "unrouted": [0] * len(columns), "rows": [], "events": [], "events_dropped": 0}
    for i, (start, end, count, values) in enumerate(rows):
        out["rows"].append({"row_id": f"route:{i + 1}", "start": start, "end": end, "start_preview": "(begin)",
                            "end_preview": "(end)", "aggregate": False, "route_ids": [i + 1], "route_ids_truncated": False,
                            "route_count": count, "values": values})
    return json.dumps(out).encode()


def small_peer_body():
    t = now_ms() // 1000 * 1000
    return peer_matrix([("", "", 1, [5, 6])], [t - 1000, t])


def wide_matrix(n, start, end):
    """A matrix answer of n columns (1 s apart, ending a minute ago) and one row over [start, end),
    written directly (json.dumps of 3 million integers is slow)."""
    t0 = (now_ms() // 1000 - 60) * 1000 - n * 1000
    cols = ",".join(map(str, range(t0, t0 + n * 1000, 1000)))
    zeros = ",".join(["0"] * n)
    ones = ",".join(["1"] * n)
    row = (f'{{"row_id":"route:1","start":{json.dumps(start)},"end":{json.dumps(end)},"start_preview":"x",'
           f'"end_preview":"x","aggregate":false,"route_ids":[1],"route_ids_truncated":false,"route_count":1,'
           f'"values":[{ones}]}}')
    return (f'{{"series":"writes","generated_at":"2026-01-01T00:00:00.000Z","step_ms":1000,"column_unix_ms":[{cols}],'
            f'"unrouted":[{zeros}],"rows":[{row}],"events":[],"events_dropped":0}}').encode()


def fake_prometheus(cells, info=None):
    """Answers query_range with `cells` (a list of Prometheus series) and query with `info`."""
    def answer(sock, target):
        if target.split("?")[0].endswith("/api/v1/query_range"):
            data = {"resultType": "matrix", "result": cells}
        else:
            data = {"resultType": "vector", "result": info if info is not None else []}
        body = json.dumps({"status": "success", "data": data}).encode()
        sock.sendall(http_answer(body))
    return answer


def one_bucket(time_s, value):
    cells = [{"metric": {"bucket": "b000"}, "values": [[time_s, value]]}]
    info = [{"metric": {"bucket": "b000", "axis": "000", "start": "(begin)"}, "value": [time.time(), "1"]}]
    return fake_prometheus(cells, info)


# ---------------------------------------------------------------- the node

class Node:
    def __init__(self, demo, workdir, name, flags):
        self.demo, self.name = demo, name
        self.log = os.path.join(workdir, f"{name}.log")
        self.flags = ["--listen", "127.0.0.1:0", "--rate", "2000", "--churn-period", "0", "--status-every", "60",
                      "--peer-timeout", str(PEER_TIMEOUT_S)] + flags
        self.proc = None
        self.peak_kib = 0           # largest VmHWM/VmRSS seen
        self.killed_for_rss = False
        self.port = None

    def start(self):
        env = dict(os.environ)
        if not BACKTRACES:
            env["SWIFT_BACKTRACE"] = "enable=no"        # a trap kills at once (see BACKTRACE_EXIT_WAIT_S)
        with open(self.log, "a") as log:
            self.proc = subprocess.Popen([self.demo] + self.flags, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=log, env=env)
        threading.Thread(target=self._watch_rss, daemon=True).start()
        deadline = time.monotonic() + NODE_START_TIMEOUT_S
        while time.monotonic() < deadline:
            m = re.search(r"serving http://127\.0\.0\.1:(\d+)/metrics", self.text())
            if m:
                self.port = int(m.group(1))
                return None
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        return "did not start" + self.death()

    def _read_status_kib(self):
        try:
            with open(f"/proc/{self.proc.pid}/status") as f:
                text = f.read()
        except OSError:
            return None, None
        rss = re.search(r"VmRSS:\s+(\d+)", text)
        hwm = re.search(r"VmHWM:\s+(\d+)", text)
        return (int(rss.group(1)) if rss else None), (int(hwm.group(1)) if hwm else None)

    def _watch_rss(self):
        proc = self.proc
        while proc.poll() is None:
            rss, hwm = self._read_status_kib()
            self.peak_kib = max(self.peak_kib, rss or 0, hwm or 0)
            if rss and rss > RSS_CEILING_MIB * 1024:
                self.killed_for_rss = True
                proc.kill()
                return
            time.sleep(RSS_SAMPLE_INTERVAL_S)

    def peak_mib(self):
        if self.proc and self.proc.poll() is None:
            _, hwm = self._read_status_kib()
            self.peak_kib = max(self.peak_kib, hwm or 0)
        return self.peak_kib / 1024

    def text(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def wait_exit(self, seconds):
        try:
            self.proc.wait(seconds)
        except subprocess.TimeoutExpired:
            pass

    def crashing(self):
        """The runtime's crash handler is at work (the node may still answer for ~30 s): it has
        printed its report, or sent the pause signal the main thread logs as "heap in use"
        (this script never sends SIGUSR1)."""
        text = self.text()
        return any(x in text for x in ("heap in use", "Backtracing from", "Program crashed"))

    def death(self):
        """How the node ended, with its crash lines; "" while it runs."""
        if self.proc is None or self.proc.poll() is None:
            return ""
        rc = self.proc.returncode
        how = f"killed by {signal.Signals(-rc).name}" if rc < 0 else f"exit {rc}"
        if self.killed_for_rss:
            how += f" (by this script: RSS over the {RSS_CEILING_MIB} MiB ceiling)"
        crash = crash_lines(self.text())
        if not crash and rc in (-signal.SIGILL, -signal.SIGTRAP) and not BACKTRACES:
            crash = "a Swift runtime trap (rerun with --backtraces for where)"
        return f": node {how}" + (f": {crash}" if crash else "")

    def request(self, path, timeout=REQUEST_TIMEOUT_S):
        """(status, headers, body) or raises OSError / http.client.HTTPException."""
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            c.request("GET", path)
            r = c.getresponse()
            return r.status, dict((k.lower(), v) for k, v in r.getheaders()), r.read()
        finally:
            c.close()

    def healthz(self):
        try:
            status, _, body = self.request("/healthz", timeout=HEALTHZ_TIMEOUT_S)
        except (OSError, http.client.HTTPException) as e:
            return f"/healthz did not answer ({type(e).__name__}: {e})"
        return None if status == 200 and body == b"ok\n" else f"/healthz answered {status} {body[:80]!r}"

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(STOP_TIMEOUT_S)


def crash_lines(text):
    """What a crash report says, in one line: the runtime's message (a debug build's "Fatal
    error"), the crash kind, and the crashed thread's first frames (with --backtraces)."""
    lines = text.splitlines()
    keep = [ln.strip() for ln in lines if "Fatal error" in ln or (ln.startswith("*** ") and "Backtracing" not in ln)]
    for i, ln in enumerate(lines):
        if re.match(r"Thread \d+ .*crashed:", ln):
            frames = [f.strip() for f in lines[i + 1:i + 12] if re.match(r"\s*\d+ ", f)]
            keep += [re.sub(r"\s+", " ", re.sub(r"0x[0-9a-f]+ ", "", f)) for f in frames[:3]]
            break
    return " | ".join(s[:200] for s in keep[:5])


# ---------------------------------------------------------------- checks

def matrix_problems(doc, scope=None, peer=None):
    """What is wrong with a matrix answer (docs/api.md, docs/openapi.yaml); [] when nothing."""
    if not isinstance(doc, dict):
        return ["the body is JSON but not an object"]
    p = []
    cols, unrouted, rows = doc.get("column_unix_ms"), doc.get("unrouted"), doc.get("rows")
    if not isinstance(cols, list) or not all(type(t) is int for t in cols):
        return ["column_unix_ms is not a list of integers"]
    if not isinstance(unrouted, list) or len(unrouted) != len(cols):
        p.append("unrouted does not have one value per column")
    if not isinstance(rows, list):
        return p + ["rows is not a list"]
    for r in rows:
        if not isinstance(r, dict):
            p.append("a row is not an object")
            break
        v = r.get("values")
        if not isinstance(v, list) or len(v) != len(cols) or not all(type(x) is int and x >= 0 for x in v):
            p.append(f"row {r.get('row_id')}: values are not {len(cols)} non-negative integers")
            break
        if type(r.get("route_count")) is not int or r["route_count"] < 1:
            p.append(f"row {r.get('row_id')}: route_count {r.get('route_count')} (the schema's minimum is 1)")
            break
    if scope:
        nodes = doc.get("nodes")
        if doc.get("scope") != scope or not isinstance(nodes, list):
            p.append(f"not a {scope} answer with nodes[]")
        elif peer and not any(isinstance(n, dict) and n.get("node") == peer for n in nodes):
            p.append(f"{peer} is not listed in nodes")
    return p


def answer_problems(status, headers, body, scope=None, peer=None, accept_400=False):
    try:
        doc = json.loads(body)
    except ValueError:
        return [f"HTTP {status} with a body that is not JSON: {body[:120]!r}"]
    if status == 200:
        return matrix_problems(doc, scope, peer)
    if status == 400 and accept_400:
        ok = isinstance(doc, dict) and isinstance(doc.get("code"), str) and isinstance(doc.get("message"), str)
        return [] if ok else [f"HTTP 400 without {{code, message}}: {body[:120]!r}"]
    return [f"HTTP {status}: {body[:160]!r}"]


def peer_status(doc, peer):
    for n in doc.get("nodes", []) if isinstance(doc, dict) else []:
        if isinstance(n, dict) and n.get("node") == peer:
            return "peer ok" if n.get("ok") else f"peer failed: {str(n.get('error'))[:100]}"
    return ""


def request_and_judge(node, path, scope=None, server=None, accept_400=False):
    """Sends `path` to the node: (problems, details, the decoded answer or None). The node's life,
    health and RSS are judged after, by finish()."""
    problems, details, doc = [], [], None
    peer = f"127.0.0.1:{server.port}" if server is not None and scope == "cluster" else None
    started = time.monotonic()
    try:
        status, headers, body = node.request(path)
    except (OSError, http.client.HTTPException) as e:
        problems.append(f"no answer after {time.monotonic() - started:.1f} s ({type(e).__name__}: {str(e)[:80]})")
        node.wait_exit(BACKTRACE_EXIT_WAIT_S if BACKTRACES else CRASH_EXIT_WAIT_S)
    else:
        problems += answer_problems(status, headers, body, scope, peer, accept_400)
        details.append(f"HTTP {status} in {time.monotonic() - started:.1f} s")
        try:
            doc = json.loads(body)
        except ValueError:
            pass
        if peer and status == 200 and doc is not None:
            details.append(peer_status(doc, peer))
        # A 200 cluster or Prometheus answer comes from asking the fake server; if it was never
        # asked, the hostile input was never read and the case proved nothing.
        if status == 200 and server is not None and not server.targets:
            problems.append("the node never asked the fake server, so the case proved nothing")
    if BACKTRACES and node.alive() and node.crashing():
        node.wait_exit(BACKTRACE_EXIT_WAIT_S)
    return problems, details, doc


def finish(node, problems, details):
    """Adds the node's life, health and RSS to a case's verdict."""
    if not node.alive():
        problems.insert(0, "died" + node.death())
    elif node.crashing():
        problems.insert(0, "crashed (its crash handler is still running): " + crash_lines(node.text()))
    else:
        h = node.healthz()
        if h:
            problems.append(h)
    peak = node.peak_mib()
    if node.killed_for_rss:
        pass                    # already in death()
    elif peak > RSS_BOUND_MIB:
        problems.append(f"peak RSS {peak:.0f} MiB over the {RSS_BOUND_MIB} MiB bound")
    details.append(f"peak RSS {peak:.0f} MiB")
    return problems, ", ".join(d for d in details if d)


# ---------------------------------------------------------------- cases

def wait_for_columns(node, server=None):
    deadline = time.monotonic() + COLUMNS_WAIT_S
    while time.monotonic() < deadline:
        _, _, raw = node.request("/api/v1/keyviz/matrix?rows=1")
        if json.loads(raw)["column_unix_ms"]:
            return
        time.sleep(0.1)
    raise TimeoutError(f"the node had no matrix column after {COLUMNS_WAIT_S} s")


class Run:
    def __init__(self, demo, workdir):
        self.demo, self.workdir = demo, workdir
        self.limit = SCRIPT_DEADLINE_BACKTRACES_S if BACKTRACES else SCRIPT_DEADLINE_S
        self.deadline = time.monotonic() + self.limit
        self.only = None

    def case(self, name, answer, scope, path_query="", flags=(), prepare=None, accept_400=False, server_flag="--peers"):
        """One node, one fake server (peer or Prometheus), one request."""
        if self.only and self.only not in name:
            return
        if time.monotonic() > self.deadline:
            report(name, [f"skipped: the script is over its {self.limit} s limit"])
            return
        server = HostileServer(answer)
        target = f"127.0.0.1:{server.port}" if server_flag == "--peers" else f"http://127.0.0.1:{server.port}"
        scoped = ["--prometheus-selector", '{job="keyviz"}'] if server_flag == "--prometheus-url" else []
        node = Node(self.demo, self.workdir, name, [server_flag, target, *scoped, *flags])
        try:
            err = node.start()
            if err:
                report(name, [err])
                return
            if prepare:
                prepare(node, server)
            path = f"/api/v1/keyviz/matrix?scope={scope}" + path_query
            problems, details, _ = request_and_judge(node, path, scope, server, accept_400)
            report(name, *finish(node, problems, details))
        except Exception as e:  # a bug here must not leave a node running, nor hide the others
            report(name, [f"{type(e).__name__} before the request: {e}"] + ([] if node.alive() else ["died" + node.death()]))
        finally:
            node.stop()
            server.stop()

    # 1. framing
    def framing(self):
        body = small_peer_body()
        self.case("peer-content-length-negative", send_fixed(http_answer(body, headers=["Content-Length: -1"])), "cluster")
        self.case("peer-content-length-twice",
                  send_fixed(http_answer(body, headers=[f"Content-Length: {len(body)}", f"Content-Length: {len(body) // 2}"])), "cluster")
        self.case("peer-content-length-huge",
                  send_fixed(http_answer(body, headers=["Content-Length: 99999999999999999999"])), "cluster")
        self.case("peer-headers-never-end", endless_headers, "cluster")
        self.case("peer-headers-never-end-silent", silent_headers, "cluster")
        self.case("peer-status-line-garbage", send_fixed(b"\x16\x03\x01\x00\xff GARBAGE \x00\xfe\r\n\r\n" + body), "cluster")
        self.case("peer-status-code-20-digits", send_fixed(http_answer(body, status="99999999999999999999 OK")), "cluster")

    # 2. route counts
    def route_counts(self):
        t = now_ms() // 1000 * 1000
        big = peer_matrix([("", "", INT64_MAX, [1]), ("", "", INT64_MAX, [1])], [t])
        self.case("peer-route-count-int64-max-twice", send_fixed(http_answer(big)), "cluster")
        small = peer_matrix([("", "", INT64_MIN, [1])], [t])
        self.case("peer-route-count-int64-min", send_fixed(http_answer(small)), "cluster")

    # 3. and 4. Prometheus samples
    def prometheus_samples(self):
        t = time.time() - 30
        for value, label in (("1e300", "1e300"), ("NaN", "nan"), ("+Inf", "inf"), ("-1", "minus-1"),
                             ("18446744073709551616", "2-pow-64")):
            self.case(f"prometheus-value-{label}", one_bucket(t, value), "prometheus", server_flag="--prometheus-url")
        for when, label in ((1e300, "1e300"), (-1e300, "minus-1e300")):
            self.case(f"prometheus-time-{label}", one_bucket(when, "5"), "prometheus", server_flag="--prometheus-url")

    # 5. extreme query
    def extreme_query(self):
        good = one_bucket(time.time() - 30, "5")
        # Without from_unix_ms the view's range starts at the node's first column: wait for one,
        # as any node that has run a second has.
        self.case("query-to-int64-max", good, "prometheus", f"&to_unix_ms={INT64_MAX}", accept_400=True,
                  server_flag="--prometheus-url", prepare=wait_for_columns)
        self.case("query-to-int64-max-from-1", good, "prometheus", f"&from_unix_ms=1&to_unix_ms={INT64_MAX}",
                  accept_400=True, server_flag="--prometheus-url", prepare=wait_for_columns)

    # 7. a very wide peer answer
    def wide_peer(self):
        body = {}

        def prepare(node, server):
            # One row with exactly one local route's range: it overlaps that route only, so the
            # other 255 local rows stay rows of their own (a grid would be 256+ x 1.5 M cells).
            _, _, raw = node.request("/api/v1/keyviz/matrix?rows=1024")
            rows = json.loads(raw)["rows"]
            r = rows[len(rows) // 2]
            body["bytes"] = wide_matrix(WIDE_COLUMNS, r["start"], r["end"])

        def answer(sock, target):
            sock.sendall(http_answer(body["bytes"]))

        self.case("peer-answer-27mb-1.5m-columns", answer, "cluster", flags=["--routes", "256"], prepare=prepare)
        if body:
            print(f"  (the wide peer answer was {len(body['bytes']) / 1e6:.1f} MB)", flush=True)

    # 8. many Prometheus series
    def many_series(self):
        base = int(time.time()) - 30_000
        cells = [{"metric": {"bucket": f"b{i:05d}"}, "values": [[base + i, "1"]]} for i in range(MANY_SERIES)]
        self.case("prometheus-20000-series", fake_prometheus(cells), "prometheus", server_flag="--prometheus-url")

    # 6. a state file with a column stamped Int64.min
    def state_file(self):
        names = ("state-int64-min-column", "state-int64-min-column-restart")
        if self.only and not any(self.only in n for n in names):
            return
        if time.monotonic() > self.deadline:
            for n in names:
                report(n, [f"skipped: the script is over its {self.limit} s limit"])
            return
        d = tempfile.mkdtemp(prefix="state-", dir=self.workdir)
        path = os.path.join(d, "matrix.state")
        with open(path, "wb") as f:
            f.write(state_file_bytes())
        for run, name in enumerate(names):
            node = Node(self.demo, self.workdir, name, ["--state-dir", d])
            try:
                err = node.start()
                if err:
                    report(name, [err])
                    continue
                problems, details = [], []
                for q in ("?series=writes&rows=400", ""):
                    if not node.alive():
                        break
                    p, det, doc = request_and_judge(node, "/api/v1/keyviz/matrix" + q)
                    problems += [f"{q or '(no query)'}: {x}" for x in p]
                    details += det
                    if not p:
                        bad = [t for t in doc["column_unix_ms"] if t < 0]
                        if bad:
                            problems.append(f"{q or '(no query)'}: the Int64.min column is served ({bad[:2]})")
                text = node.text()
                if "set aside" in text:
                    details.append("the file was set aside")
                elif "matrix history restored" in text:
                    details.append("the file was restored")
                report(name, *finish(node, problems, details))
            except Exception as e:
                report(name, [f"script error {type(e).__name__}: {e}"])
            finally:
                node.stop()


# ---------------------------------------------------------------- the state file (MatrixHistoryCodec v1)

def varint(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def zigzag(v):
    return ((v << 1) ^ (v >> 63)) & 0xFFFFFFFFFFFFFFFF


def counts(reads, writes, read_bytes, write_bytes):
    return varint(reads) + varint(writes) + varint(read_bytes) + varint(write_bytes)


def state_file_bytes():
    """One route over the whole key space, one tier of 1 s columns: a column stamped Int64.min,
    then two good columns a second apart (a minute ago). A valid header and CRC: only the stamp
    is hostile."""
    p = bytearray()
    p += varint(1)                                                  # routes
    p += varint(1) + varint(1) + varint(0) + varint(0)              # id 1, group 1, start "", end ""
    p += varint(1)                                                  # tiers
    good = (now_ms() // 1000 - 60) * 1000
    stamps = [INT64_MIN, good, good + 1000]
    p += varint(zigzag(1000)) + varint(len(stamps))                 # step 1 s, columns
    for t in stamps:
        p += varint(zigzag(t)) + counts(0, 0, 0, 0)                 # stamp, unrouted
        p += varint(1) + varint(0) + counts(7, 11, 70, 110)         # one entry: route 0
    p += b"\x00"                                                    # no pending column
    header = b"KVZHIST1" + struct.pack("<IQI", 1, len(p), zlib.crc32(bytes(p)) & 0xFFFFFFFF)
    return header + bytes(p)


# ---------------------------------------------------------------- main

def main():
    global RSS_BOUND_MIB, RSS_CEILING_MIB, BACKTRACES
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--demo", default=".build/release/keyviz-demo")
    ap.add_argument("--only", default=None, help="run only the cases whose name contains this")
    ap.add_argument("--rss-bound-mib", type=int, default=RSS_BOUND_MIB)
    ap.add_argument("--rss-ceiling-mib", type=int, default=RSS_CEILING_MIB)
    ap.add_argument("--keep-logs", action="store_true", help="keep the nodes' logs (their directory is printed)")
    ap.add_argument("--backtraces", action="store_true",
                    help="keep the Swift runtime's crash backtraces, to see where a node traps (~35 s per crash)")
    args = ap.parse_args()
    RSS_BOUND_MIB, RSS_CEILING_MIB, BACKTRACES = args.rss_bound_mib, args.rss_ceiling_mib, args.backtraces
    if not os.access(args.demo, os.X_OK):
        print(f"check-hostile-inputs: no demo binary at {args.demo} (build it: swift build -c release --traits Demo --product keyviz-demo)")
        return 2
    workdir = tempfile.mkdtemp(prefix="keyviz-hostile-")
    run = Run(os.path.abspath(args.demo), workdir)
    run.only = args.only
    started = time.monotonic()
    try:
        run.framing()
        run.route_counts()
        run.prometheus_samples()
        run.extreme_query()
        run.state_file()
        run.wide_peer()
        run.many_series()
    finally:
        if args.keep_logs or failures:
            print(f"check-hostile-inputs: the nodes' logs are in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"check-hostile-inputs: {time.monotonic() - started:.0f} s")
    print(f"{passed[0]} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
