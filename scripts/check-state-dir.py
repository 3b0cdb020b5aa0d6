#!/usr/bin/env python3
"""--state-dir keeps the heat matrix across restarts, and a crash never leaves a torn file.

1. Kills: the release demo runs with --state-dir and a 1 s save interval and is SIGKILLed 20
   times (seeded, seed printed; under a minute): every other time at a random moment, the
   others as soon as a save's temp file appears (mid-save). After each kill the state
   file must decode (`keyviz-demo --check-state`), its newest column must be no older than the
   last good one (so it is the old state or the new one, never a mix), and no file may have
   been set aside. Each run starts from what the previous one left.
2. Restart: a node stopped with SIGTERM saves at exit; started again on the same directory, its
   matrix API shows every column seen before the stop, with the same totals.
3. Corrupt files: a garbage file and a truncated one are logged, renamed aside byte for byte,
   and the node starts empty and serves; its next save is a good file.

Usage: scripts/check-state-dir.py [--demo .build/release/keyviz-demo] [--kills 20] [--seed N]
"""
import argparse
import glob
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from keyviz_checks import check, failures, passed  # noqa: E402



def start(demo, state_dir, *extra):
    log = tempfile.NamedTemporaryFile("w+", prefix="keyviz-state-", suffix=".log", delete=False)
    p = subprocess.Popen([demo, "--listen", "127.0.0.1:0", "--state-dir", state_dir, "--routes", "200", "--rate", "20000",
                          "--step", "0.2", "--churn-period", "0.5", "--status-every", "60", *extra],
                         stdout=subprocess.DEVNULL, stderr=log)
    return p, log.name


def wait_port(p, log, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = re.search(r"serving http://127\.0\.0\.1:(\d+)/metrics", open(log).read())
        if m:
            return "http://127.0.0.1:" + m.group(1)
        if p.poll() is not None:
            break
        time.sleep(0.05)
    raise RuntimeError("demo did not start: " + open(log).read())


def get_json(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.status, json.loads(r.read())


def check_state(demo, path):
    r = subprocess.run([demo, "--check-state", path], capture_output=True, text=True, timeout=30)
    m = re.search(r"newest_unix_ms=(\d+|none) routed_ops=(\d+)", r.stdout)
    return r.returncode, (int(m.group(1)) if m and m.group(1) != "none" else None), r.stdout + r.stderr


def column_totals(m):
    return {t: sum(r["values"][j] for r in m["rows"]) for j, t in enumerate(m["column_unix_ms"])}


def kills(demo, n, rng):
    d = tempfile.mkdtemp(prefix="keyviz-state-kill-")
    path = os.path.join(d, "matrix.state")
    newest, saved_runs, torn, started = None, 0, 0, time.monotonic()
    for i in range(n):
        p, log = start(demo, d, "--state-save-every", "1")
        wait_port(p, log)
        if i % 4 == 0:
            time.sleep(rng.uniform(0.2, 1.0))       # often before the first save: the old state must stay
        elif i % 4 == 2:
            time.sleep(rng.uniform(1.5, 3.0))       # past a save or two (one a second): the state advances
        else:
            # Aim at a save in progress: kill as soon as the temp file appears (or at the deadline).
            deadline = time.monotonic() + rng.uniform(1.2, 2.5)
            while time.monotonic() < deadline and not os.path.exists(path + ".tmp"):
                time.sleep(0.0002)
        p.send_signal(signal.SIGKILL)
        p.wait(10)
        text = open(log).read()
        os.unlink(log)
        torn += os.path.exists(path + ".tmp")
        if i > 0 and newest is not None and "matrix history restored" not in text:
            check(False, f"kill {i}: the run did not restore the previous state: {text[-400:]}")
        if not os.path.exists(path):
            check(newest is None, f"kill {i}: no state file yet (no save before the kill)")
            continue
        rc, t, out = check_state(demo, path)
        ok = rc == 0 and t is not None and (newest is None or t >= newest)
        check(ok, f"kill {i}: state file decodes, newest column {t} >= previous {newest}" + ("" if ok else ": " + out.strip()))
        saved_runs += t != newest
        newest = t if ok else newest
    check(not glob.glob(path + ".corrupt-*"), "kills: no state file was ever set aside")
    # Proof that the kills fell on a moving state: at least two runs advanced it (the runs killed
    # past 1.5 s nearly always do; a fixed share of all runs flaked under load: 2 of 20 once).
    check(saved_runs >= 2, f"kills: {saved_runs} of {n} runs saved a newer state before being killed")
    print(f"kills: {n} in {time.monotonic() - started:.1f} s; {torn} left a temp file behind (killed while saving)")


def restart(demo):
    d = tempfile.mkdtemp(prefix="keyviz-state-restart-")
    p, log = start(demo, d)
    base = wait_port(p, log)
    time.sleep(3)
    _, before = get_json(base + "/api/v1/keyviz/matrix?series=writes")
    p.send_signal(signal.SIGTERM)
    rc = p.wait(30)
    text = open(log).read()
    check(rc == 0 and "matrix history saved" in text, f"SIGTERM: exit {rc} after saving the history")
    rc, newest, out = check_state(demo, os.path.join(d, "matrix.state"))
    last = max(before["column_unix_ms"])
    check(rc == 0 and newest is not None and newest >= last, f"SIGTERM: the saved state holds the newest column seen ({newest} >= {last})")
    p, log2 = start(demo, d)
    base = wait_port(p, log2)
    _, after = get_json(base + "/api/v1/keyviz/matrix?series=writes")
    want, got = column_totals(before), column_totals(after)
    missing = [t for t in want if got.get(t) != want[t]]
    check(len(want) > 5 and not missing,
          f"restart: all {len(want)} columns seen before the stop are served after it with the same totals ({len(missing)} differ)")
    p.send_signal(signal.SIGTERM)
    p.wait(30)
    for f in (log, log2):
        os.unlink(f)
    return os.path.join(d, "matrix.state")


def corrupt(demo, good_path):
    good = open(good_path, "rb").read()
    for name, content in (("garbage", b"this is not a matrix state file\n" * 3), ("truncated", good[: len(good) // 2])):
        d = tempfile.mkdtemp(prefix="keyviz-state-" + name + "-")
        path = os.path.join(d, "matrix.state")
        with open(path, "wb") as f:
            f.write(content)
        p, log = start(demo, d)
        base = wait_port(p, log)
        text = open(log).read()
        aside = glob.glob(path + ".corrupt-*")
        check("set aside" in text and "error" in text, f"{name}: the unusable file is logged")
        check(len(aside) == 1 and open(aside[0], "rb").read() == content, f"{name}: set aside byte for byte as {os.path.basename(aside[0]) if aside else '?'}")
        status, m = get_json(base + "/api/v1/keyviz/matrix")
        with urllib.request.urlopen(base + "/healthz", timeout=10) as r:
            health = r.read()
        check(status == 200 and health == b"ok\n", f"{name}: the node serves (matrix {status}, healthz {health!r})")
        p.send_signal(signal.SIGTERM)
        rc = p.wait(30)
        os.unlink(log)
        rc2, newest, _ = check_state(demo, path)
        check(rc == 0 and rc2 == 0 and newest is not None, f"{name}: the next save wrote a good file")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--demo", default=".build/release/keyviz-demo")
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--seed", type=int, default=int(time.time()))
    args = ap.parse_args()
    print(f"check-state-dir: seed {args.seed}")
    rng = random.Random(args.seed)
    kills(args.demo, args.kills, rng)
    good = restart(args.demo)
    corrupt(args.demo, good)
    print(f"check-state-dir: {passed[0]} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
