#!/usr/bin/env python3
"""Runs the demo node, samples its resident memory, and judges growth by slope, not noise.

    python3 scripts/memory-trace.py --demo .build/release/keyviz-demo --seconds 600 [-- demo flags]

Every --every seconds it reads VmRSS from /proc/PID/status and prints `t_s rss_kib`. At the end it
fits a least-squares line to the samples of the second half of the run (after warm-up) and prints
the slope in MiB per minute; with --max-slope-mib-per-min it fails when the slope is larger. A
slope over many samples is what a leak shows and a load spike does not: one late sample 3 MB
higher (a scrape's buffer, a page-cache hiccup at load 7) moves it little, while a leak of
1 MiB/min moves every sample.
"""

import argparse
import os
import signal
import subprocess
import tempfile
import time
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from keyviz_checks import slope  # noqa: E402


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")




def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--demo", required=True)
    ap.add_argument("--seconds", type=float, default=600)
    ap.add_argument("--every", type=float, default=10)
    ap.add_argument("--max-slope-mib-per-min", type=float, default=None)
    ap.add_argument("demo_args", nargs="*")
    args = ap.parse_args()

    cmd = [args.demo, "--listen", "127.0.0.1:0"] + args.demo_args
    log = tempfile.TemporaryFile(mode="w+")   # status lines: a file never blocks the demo
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log, text=True)

    def demo_log():
        log.seek(0)
        return "".join(log.readlines()[-5:])

    samples = []
    start = time.monotonic()
    try:
        while True:
            t = time.monotonic() - start
            if proc.poll() is not None:
                raise SystemExit(f"memory-trace: the demo exited early with {proc.returncode}:\n{demo_log()}")
            samples.append((t, rss_kib(proc.pid)))
            print(f"{t:7.1f} {samples[-1][1]}", flush=True)
            if t >= args.seconds:
                break
            time.sleep(min(args.every, max(0.0, args.seconds - t)))
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
    if proc.returncode not in (0, None):
        raise SystemExit(f"memory-trace: the demo exited with {proc.returncode} on SIGTERM:\n{demo_log()}")

    print("memory-trace: the demo's last lines:\n" + demo_log().rstrip())
    second_half = [(t / 60.0, kib / 1024.0) for t, kib in samples if t >= args.seconds / 2]
    if len(second_half) < 3:
        raise SystemExit("memory-trace: too few samples in the second half; run longer or sample more often")
    s = slope(second_half)
    first, last = samples[0][1] / 1024, samples[-1][1] / 1024
    peak = max(k for _, k in samples) / 1024
    print(f"memory-trace: {len(samples)} samples over {samples[-1][0]:.0f} s; RSS {first:.1f} -> {last:.1f} MiB "
          f"(peak {peak:.1f}); second-half slope {s:+.3f} MiB/min over {len(second_half)} samples")
    if args.max_slope_mib_per_min is not None and s > args.max_slope_mib_per_min:
        raise SystemExit(f"memory-trace: FAIL: RSS grows {s:.3f} MiB/min after warm-up "
                         f"(bound {args.max_slope_mib_per_min} MiB/min)")


if __name__ == "__main__":
    main()
