#!/usr/bin/env python3
"""Split advice end to end, against real demo nodes (issue 25):

- a node with a standing hot *range* (--skew 4) and --auto-split splits its hottest route at the
  key the advice named (each split's key starts a route of the final catalog), and the hottest
  route's share of the traffic falls well below the same workload's share without the flag;
- without the flag the catalog never changes;
- at --skew 40 most of the traffic is one key: the advice for the hottest route says
  single_hot_key, naming the hot key, and advises no split.

    python3 scripts/check-auto-split.py [path/to/keyviz-demo]
"""
import importlib.util
import os
import re
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from keyviz_checks import check, failures, passed  # noqa: E402

spec = importlib.util.spec_from_file_location("browser_test", os.path.join(HERE, "browser-test.py"))
bt = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bt)

BINARY = sys.argv[1] if len(sys.argv) > 1 else ".build/release/keyviz-demo"
SECONDS = 30
COMMON = ["--routes", "32", "--rate", "6000", "--workers", "2", "--hotspot-period", "86400", "--seed", "3",
          "--duration", str(SECONDS), "--linger", "60", "--status-every", "5"]


class Node:
    """A demo node started by browser-test.py's Demo (one way to start, wait for and stop a node)."""

    def __init__(self, workdir, name, flags):
        self.demo = bt.Demo(BINARY, workdir, name, COMMON + flags)
        self.base = f"http://127.0.0.1:{self.demo.port}"

    def text(self):
        return self.demo.text()

    def wait_frozen(self):
        self.demo.wait_frozen()

    def api(self, path):
        return bt.api(self.base, path)

    def stop(self):
        self.demo.stop()


def hottest_share(node, columns=3):
    """The hottest row's share of reads over the last `columns` columns that had traffic."""
    m = node.api("/api/v1/keyviz/matrix?series=reads&rows=1024")
    totals = [sum(r["values"][c] for r in m["rows"]) for c in range(len(m["column_unix_ms"]))]
    last = [c for c, t in enumerate(totals) if t > 0][-columns:]
    sums = [sum(r["values"][c] for c in last) for r in m["rows"]]
    return max(sums) / sum(sums), m


def main():
    work = tempfile.mkdtemp()
    nodes = {}
    try:
        nodes["auto"] = Node(work, "auto", ["--skew", "4", "--auto-split"])
        nodes["plain"] = Node(work, "plain", ["--skew", "4", "--churn-period", "0"])
        nodes["hotkey"] = Node(work, "hotkey", ["--skew", "40", "--churn-period", "0"])
        for n in nodes.values():
            n.wait_frozen()
        auto, plain, hotkey = nodes["auto"], nodes["plain"], nodes["hotkey"]

        splits = re.findall(r"auto-split route (\d+) .* at (\S+) \((read|write) balance (\d+)%, (\d+) samples\)", auto.text())
        check(len(splits) >= 1, f"--auto-split split the hot range ({len(splits)} splits: {[s[1] for s in splits]})")
        check(all(int(b) >= 80 for _, _, _, b, _ in splits), "every split was advised with a balance of at least 80%")
        share_auto, m_auto = hottest_share(auto)
        share_plain, m_plain = hottest_share(plain)
        starts = {r["start_preview"] for r in m_auto["rows"]}
        check(all(key in starts for _, key, _, _, _ in splits),
              "each split happened at the advised key: it starts a route of the node's matrix")
        check(share_auto <= 0.6 * share_plain,
              f"the hottest route's share falls well below the same workload's without the flag: {share_auto:.3f} vs {share_plain:.3f}")
        check(len(m_plain["rows"]) == 32 and "auto-split" not in plain.text(), "without the flag the catalog never changes")

        advice = auto.api("/api/v1/keyviz/split-advice")
        check(advice["sample_every"] > 0 and advice["scope"] == "local" and isinstance(advice["advice"], list),
              "the split-advice API answers the node's advice")
        for a in advice["advice"]:
            if a["verdict"] == "split":
                inside = (a["start_preview"] < a["key_preview"]) and (a["end_preview"] == "(end)" or a["key_preview"] < a["end_preview"])
                check(inside, f"advised key {a['key_preview']} lies inside its route [{a['start_preview']}, {a['end_preview']})")

        hot = hotkey.api("/api/v1/keyviz/split-advice?op=read")["advice"]
        top = [a for a in hot if a["rank"] == 1]
        hot_keys = hotkey.api("/api/v1/keyviz/hot-keys?op=read")["keys"]
        check(bool(top) and top[0]["verdict"] == "single_hot_key",
              f"with one key taking most of the traffic the hottest route is reported unsplittable: {top[:1]}")
        check(bool(top) and bool(hot_keys) and top[0]["key"] == hot_keys[0]["key"],
              "… naming the hottest key the hot-key panel shows")
    finally:
        for n in nodes.values():
            n.stop()
    print(f"auto-split: {passed[0]} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
