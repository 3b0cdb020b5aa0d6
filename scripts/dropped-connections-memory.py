#!/usr/bin/env python3
"""Resident memory and live heap of the demo node under rounds of dropped connections.

Each round, like the hardening test's: 200 abrupt disconnects mid-response of GET /metrics,
1 000 connections opened and dropped 40 at a time (half mid-request), then 5 full scrapes.
After each round it prints RSS (/proc) and live heap bytes (the demo's mallinfo2 report on
SIGUSR1). Loopback only, bounded by the number of rounds.

By hand:  scripts/dropped-connections-memory.py [rounds] [demo binary]   (default 12, debug build)
Environment passes through to the demo, e.g. MALLOC_ARENA_MAX=2.
"""
import os, re, signal, socket, subprocess, sys, tempfile, time

rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 12
demo = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), "..", ".build", "debug", "keyviz-demo")
log = tempfile.NamedTemporaryFile(prefix="keyviz-dropped-", suffix=".log", delete=False)
proc = subprocess.Popen([demo, "--rate", "0", "--churn-period", "0", "--routes", "4000", "--buckets", "4096",
                         "--listen", "127.0.0.1:0"], stderr=log, stdout=subprocess.DEVNULL)
def log_text():
    with open(log.name, errors="replace") as f: return f.read()
port = None
for _ in range(200):
    m = re.search(r"serving http://127\.0\.0\.1:(\d+)/metrics", log_text())
    if m: port = int(m.group(1)); break
    time.sleep(0.1)
if port is None: proc.kill(); sys.exit("demo did not start: " + log_text())

def connect():
    for _ in range(100):
        try: return socket.create_connection(("127.0.0.1", port), timeout=5)
        except OSError: time.sleep(0.05)
    raise SystemExit("cannot connect")

def fetch(path):
    for _ in range(40):
        try:
            s = connect(); s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while True:
                b = s.recv(65536)
                if not b: break
                data += b
            s.close()
            if data.startswith(b"HTTP/1.1 200"): return data
        except OSError: pass
        time.sleep(0.05)
    raise SystemExit(f"GET {path} failed")

def rss_kib():
    return int(re.search(r"VmRSS:\s+(\d+)", open(f"/proc/{proc.pid}/status").read()).group(1))

def live_heap():
    seen = len(re.findall(r"heap in use (-?\d+) bytes", log_text()))
    proc.send_signal(signal.SIGUSR1)
    for _ in range(100):
        found = re.findall(r"heap in use (-?\d+) bytes", log_text())
        if len(found) > seen: return int(found[-1])
        time.sleep(0.05)
    return -1

try:
    for _ in range(5): fetch("/metrics")
    print(f"start: rss {rss_kib()} KiB, live heap {live_heap()} B", flush=True)
    for r in range(rounds):
        for _ in range(200):
            s = connect(); s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            try: s.recv(65536)
            except OSError: pass
            s.close()
        for _ in range(25):
            batch = []
            for i in range(40):
                s = connect()
                if i % 2 == 0: s.sendall(b"GET /metr")
                batch.append(s)
            for s in batch: s.close()
        time.sleep(0.5)
        fetch("/healthz")
        for _ in range(5): fetch("/metrics")
        print(f"round {r + 1} ({(r + 1) * 1200} connections): rss {rss_kib()} KiB, live heap {live_heap()} B", flush=True)
finally:
    proc.terminate(); proc.wait(); os.unlink(log.name)
