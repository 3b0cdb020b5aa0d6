#!/usr/bin/env python3
"""Instructions per observation on the hot path, by valgrind's callgrind, against the record.

    python3 scripts/check-instructions.py            # check: fail on > 10% growth over the record
    python3 scripts/check-instructions.py --record   # write the measured numbers as the record

Builds Benchmarks/Instructions (a separate package: KeyViz called from another module, as a host
calls it), runs each case under callgrind at two observation counts and divides the difference
in instructions by the difference in counts, so start-up and teardown cancel. Instruction counts
repeat run to run on a loaded machine, where nanoseconds do not. The record is
Benchmarks/Instructions/instructions.json.

It also reads the host binary's disassembly: every specialization of the host's observation
loop must reach the counters with no call through a witness table, no unspecialized KeyViz
`observe` and no retain/release (the hot path is inlinable so a host gets it specialized).
"""
import argparse
import json
import os
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "Benchmarks" / "Instructions"
RECORD = PACKAGE / "instructions.json"
CASES = ["memsampler", "chain", "chain-keyed", "chain-hotkeys-1024", "chain-hotkeys-default", "render-changed"]
LOW, HIGH = 100_000, 300_000
TOLERANCE = 1.10


def instructions(binary, case, count, tmp):
    out = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/cg.out", binary, case, str(count)],
                         capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"check-instructions: {case} {count} failed:\n{out.stderr[-2000:]}")
    m = re.search(r"Collected : (\d+)", out.stderr)
    if not m:
        sys.exit(f"check-instructions: no instruction count from callgrind:\n{out.stderr[-2000:]}")
    return int(m.group(1))


FORBIDDEN_CALL = re.compile(r"witness|dispatch thunk|swift_retain|swift_release|swift_bridgeObjectRetain")


def check_disassembly(binary):
    """Calls made by each `specialized run<A>` of the host: returns (functions, problems)."""
    dis = subprocess.run(f"objdump -d --no-show-raw-insn {binary} | swift demangle --simplified", shell=True,
                         capture_output=True, text=True, check=True).stdout
    functions, problems, current = 0, [], None
    for line in dis.splitlines():
        m = re.match(r"^[0-9a-f]+ <(.*)>:$", line)
        if m:
            current = m.group(1) if m.group(1).startswith("specialized run<") else None
            functions += current is not None
            continue
        if current and "call" in line:
            target = line.split("<", 1)[-1].rstrip(">") if "<" in line else line.strip()
            if FORBIDDEN_CALL.search(target) or ("observe(" in target and not target.startswith("specialized")):
                problems.append(f"{current}: calls {target}")
    return functions, problems


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--record", action="store_true")
    args = ap.parse_args()
    env = dict(os.environ, PATH="/opt/swift/usr/bin:" + os.environ.get("PATH", ""))
    subprocess.run(["swift", "build", "-c", "release", "-Xswiftc", "-warnings-as-errors"], cwd=PACKAGE, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    binary = str(PACKAGE / ".build" / "release" / "keyviz-instructions")
    tmp = subprocess.run(["mktemp", "-d"], capture_output=True, text=True, check=True).stdout.strip()
    measured = {}
    for case in CASES:
        per = (instructions(binary, case, HIGH, tmp) - instructions(binary, case, LOW, tmp)) / (HIGH - LOW)
        measured[case] = round(per, 1)
    if args.record:
        RECORD.write_text(json.dumps(measured, indent=2) + "\n")
        print(f"check-instructions: recorded {measured}")
        return 0
    record = json.loads(RECORD.read_text())
    passed = failed = 0
    for case in CASES:
        got, want = measured[case], record.get(case)
        ok = want is not None and got <= want * TOLERANCE
        passed += ok
        failed += not ok
        print(f"check-instructions: {case:22s} {got:7.1f} instructions per observation (record {want}, "
              f"{'ok' if ok else 'FAIL: more than 10% over the record'})")
    functions, problems = check_disassembly(binary)
    if functions == 0:
        problems.append("no specialized observation loop found in the host binary")
    for p in problems:
        print(f"check-instructions: FAIL disassembly: {p}")
    print(f"check-instructions: disassembly: {functions} specialized host loops, "
          f"{'no call through a witness table, no unspecialized observe, no retain/release' if not problems else 'problems above'}")
    failed += len(problems) > 0
    ratio = measured["chain"] / measured["memsampler"]
    print(f"check-instructions: chain / HeatMatrixSampler alone = {ratio:.2f}")
    print(f"check-instructions: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
