#!/usr/bin/env python3
"""The cluster view with three demo nodes on 127.0.0.1, and its page in headless chromium.

All three nodes run with the same --peers list, naming all three plus a port nothing listens
on (one config for every node). All three run a bounded workload with churn (--duration) and
then keep serving with their matrices frozen (--linger), so every answer below describes the
same fixed data. Checks:
- A's ?scope=cluster answer matches the OpenAPI schema; the dead peer is reported (ok false,
  an error) and the three live nodes answered; A itself, listed among its peers, is counted
  once (duplicate_of);
- B's and C's cluster totals equal A's: each node counts every node once;
- after C is stopped, A's answer lists C as missing and stale (its last answer merged, since
  when), with the same totals (the matrices are frozen), and the page shows a banner naming it;
- every merged column's total equals the sum, over the three nodes' own local matrices, of the
  columns that fall on that step-grid point (exact, for reads and writes; unrouted too);
- rows are in key order without overlap, within the row budget (also with rows=16, same totals);
- the events are the three nodes' events, each named by its node;
- the page at A's /#scope=cluster draws the merged matrix (rows x columns as the API reports,
  cell colours as the grid check of scripts/browser-test.py) and lists the failed peer.
Screenshots go to a temp dir whose path is printed.

Usage: scripts/cluster-test.py [--demo .build/release/keyviz-demo]
"""
import argparse
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import jsonschema
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("browser_test", os.path.join(HERE, "browser-test.py"))
bt = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bt)
check = bt.check


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def get(base, path):
    with urllib.request.urlopen(base + path, timeout=30) as r:
        return json.load(r)


def grid_totals(m, step):
    """Per step-grid point: the sum of the rows' values (and of unrouted) of the columns on it."""
    tot, unr = {}, {}
    for j, t in enumerate(m["column_unix_ms"]):
        g = -(-t // step) * step
        tot[g] = tot.get(g, 0) + sum(r["values"][j] for r in m["rows"])
        unr[g] = unr.get(g, 0) + m["unrouted"][j]
    return tot, unr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--demo", default=".build/release/keyviz-demo")
    ap.add_argument("--artifacts", default=None)
    args = ap.parse_args()
    artifacts = args.artifacts or tempfile.mkdtemp(prefix="keyviz-cluster-artifacts-")
    work = tempfile.mkdtemp(prefix="keyviz-cluster-")
    with open(os.path.join(HERE, "..", "docs", "openapi.yaml")) as f:
        api_spec = yaml.safe_load(f)
    root = dict(api_spec)
    root["$ref"] = "#/components/schemas/Matrix"
    matrix_schema = jsonschema.Draft202012Validator(root)

    pa, pb, pc, dead = free_port(), free_port(), free_port(), free_port()
    common = ["--routes", "32", "--step", "0.5", "--rate", "6000", "--churn-period", "0.5", "--duration", "6", "--linger", "200",
              "--hotspot-period", "3"]
    nodes = []
    browser = None
    try:
        same_peers = ["--peers", f"127.0.0.1:{pa},127.0.0.1:{pb},127.0.0.1:{pc},127.0.0.1:{dead}", "--peer-timeout", "5"]
        for name, port, seed in (("b", pb, 2), ("c", pc, 3), ("a", pa, 1)):
            nodes.append(bt.Demo(args.demo, work, name, ["--seed", str(seed), "--listen", f"127.0.0.1:{port}"] + common + same_peers))
        for n in nodes:
            n.wait_frozen()
        b, c, a = nodes
        base = {x: f"http://127.0.0.1:{x.port}" for x in nodes}
        names = {a: f"127.0.0.1:{pa}", b: f"127.0.0.1:{pb}", c: f"127.0.0.1:{pc}"}

        for series in ("writes", "reads"):
            local = {x: get(base[x], f"/api/v1/keyviz/matrix?series={series}") for x in nodes}
            cl = get(base[a], f"/api/v1/keyviz/matrix?series={series}&scope=cluster")
            errs = sorted(matrix_schema.iter_errors(cl), key=str)
            check(not errs, f"{series}: the cluster answer matches the Matrix schema" + ("" if not errs else ": " + errs[0].message[:200]))
            status = {n["node"]: n for n in cl["nodes"]}
            check([status.get(names[x], {}).get("ok") for x in (a, b, c)] == [True, True, True],
                  f"{series}: the three live nodes answered ({[n['node'] for n in cl['nodes'] if n['ok']]})")
            d = status.get(f"127.0.0.1:{dead}", {})
            check(d.get("ok") is False and "connect" in (d.get("error") or ""),
                  f"{series}: the dead peer is reported, not fatal ({d.get('error')})")
            step = cl["step_ms"]
            want_tot, want_unr = {}, {}
            for x in nodes:
                t, u = grid_totals(local[x], step)
                for g, v in t.items():
                    want_tot[g] = want_tot.get(g, 0) + v
                for g, v in u.items():
                    want_unr[g] = want_unr.get(g, 0) + v
            got_tot, got_unr = grid_totals(cl, step)
            check(sorted(got_tot) == cl["column_unix_ms"] and got_tot == want_tot,
                  f"{series}: all {len(got_tot)} merged columns' totals equal the three nodes' sums ({sum(got_tot.values())} operations)")
            check(got_unr == want_unr, f"{series}: unrouted per column equals the nodes' sums")
            keys = [(bt.base64.b64decode(r["start"]), bt.base64.b64decode(r["end"])) for r in cl["rows"]]
            ordered = all(e != b"" and e <= s2 for (_, e), (s2, _) in zip(keys, keys[1:]))
            check(ordered, f"{series}: {len(keys)} merged rows in key order, none overlapping")
            small = get(base[a], f"/api/v1/keyviz/matrix?series={series}&scope=cluster&rows=16")
            check(len(small["rows"]) <= 16 and grid_totals(small, step)[0] == want_tot, f"{series}: rows=16 gives {len(small['rows'])} rows, same totals")
            want_events = sorted((e["unix_ms"], names[x], e["kind"]) for x in nodes for e in local[x]["events"])
            got_events = sorted((e["unix_ms"], e.get("node"), e["kind"]) for e in cl["events"])
            check(got_events == want_events and len(want_events) > 0,
                  f"{series}: the {len(got_events)} events are the three nodes' own, each named by its node")
            me = [n for n in cl["nodes"] if n["node"] == names[a]]
            check(len(me) == 2 and me[1].get("duplicate_of") == names[a] and me[0].get("node_id") == me[1].get("node_id"),
                  f"{series}: A, listed in its own --peers, is counted once ({me})")
            for x in (b, c):
                other = get(base[x], f"/api/v1/keyviz/matrix?series={series}&scope=cluster")
                got = sum(sum(r["values"]) for r in other["rows"])
                check(got == sum(want_tot.values()), f"{series}: node {names[x]}, with the same --peers, counts the same {got} operations")

        # Hot keys in cluster scope: every node's sketch merged, each node once.
        hk = get(base[a], "/api/v1/keyviz/hot-keys?scope=cluster&op=write")
        hk_root = dict(api_spec)
        hk_root["$ref"] = "#/components/schemas/HotKeys"
        errs = sorted(jsonschema.Draft202012Validator(hk_root).iter_errors(hk), key=str)
        counted = [n["node"] for n in hk.get("nodes", []) if n["ok"] and not n["duplicate_of"]]
        check(not errs and hk.get("scope") == "cluster" and sorted(counted) == sorted(names.values()),
              f"cluster hot keys: schema-valid, merged from the three nodes once each ({counted}{'; ' + errs[0].message[:120] if errs else ''})")

        # C dies: A's view keeps C's last answer, marked stale, and says since when.
        before = get(base[a], "/api/v1/keyviz/matrix?series=writes&scope=cluster")
        c.stop()
        after = get(base[a], "/api/v1/keyviz/matrix?series=writes&scope=cluster")
        cs = {n["node"]: n for n in after["nodes"]}.get(names[c], {})
        check(cs.get("ok") is False and cs.get("stale") is True and cs.get("missing_since_unix_ms") and cs.get("last_ok_unix_ms"),
              f"after C stopped: A lists it missing and stale, with its times ({cs})")
        check(grid_totals(after, after["step_ms"])[0] == grid_totals(before, after["step_ms"])[0],
              "after C stopped: the totals are unchanged (its last answer stands in; no silent drop)")

        browser = bt.Chromium(work)
        browser.call("Browser.getVersion")
        page = bt.Page(browser)
        page.call("Page.navigate", {"url": base[a] + "/#scope=cluster"})
        page.wait("window.keyviz && window.keyviz.state.ready", "the cluster page to draw")
        time.sleep(0.3)
        g, m, _ = bt.check_grid(page, base[a], None, "cluster page")
        check("scope=cluster" in g["url"], f"cluster page: it asked for the cluster view ({g['url']})")
        listed = page.js("[...document.querySelectorAll('#nodes [data-node]')].map(e => [e.dataset.node, e.dataset.ok, e.textContent])")
        check([n[0] for n in listed] == [n["node"] for n in m["nodes"]] and any(n[0] == f"127.0.0.1:{dead}" and n[1] == "false" for n in listed),
              f"cluster page: lists every node and the failed peer ({listed})")
        status_line = page.js("document.getElementById('status').textContent")
        check("failed: " in status_line and f"127.0.0.1:{dead}" in status_line.split("failed: ", 1)[-1],
              f"cluster page: the status line names the failed peers ({status_line[:120]})")
        marks = page.js(f"(() => {{ const all = window.keyviz.state.marks.length; const box = document.querySelector('#nodes input[data-events=\"{names[b]}\"]');"
                        f" box.click(); const fewer = window.keyviz.state.marks.length; box.click(); return [all, fewer, window.keyviz.state.marks.length]; }})()")
        check(marks[0] > marks[1] and marks[2] == marks[0], f"cluster page: a node's route changes can be hidden and shown again ({marks} markers)")
        # Hover a cell: after a rest the tip adds the cell's per-node breakdown, each node's part of it.
        R, C = len(m["rows"]), len(m["column_unix_ms"])
        hr, hc = max(((i, j) for i in range(R) for j in range(C)), key=lambda rc: m["rows"][rc[0]]["values"][rc[1]])
        x, y = bt.cell_center(g, hr, hc, R, C)
        page.mouse("mouseMoved", g["left"] + x, g["top"] + y)
        page.wait("!!document.querySelector('#tip [data-k=nodes]')", "the cell's per-node breakdown")
        parts = page.js("document.querySelector('#tip [data-k=nodes]').textContent")
        row, t = m["rows"][hr], m["column_unix_ms"][hc]
        q = {"series": "writes", "scope": "cluster", "rows": "1", "from_unix_ms": str(t - m["step_ms"] + 1), "to_unix_ms": str(t + 1)}
        if row["start"]:
            q["start_key"] = row["start"]
        if row["end"]:
            q["end_key"] = row["end"]
        cell = get(base[a], "/api/v1/keyviz/matrix?" + bt.urllib.parse.urlencode(q))
        node_sum = sum(n["total"] for n in cell["nodes"] if n.get("total") is not None)
        check(node_sum == sum(sum(rr["values"]) for rr in cell["rows"]) and node_sum > 0 and names[a] in parts and names[b] in parts,
              f"cluster page: hovering a cell shows its per-node breakdown, the parts adding up to the cell ({parts[:140]}; {node_sum})")
        page.mouse("mouseMoved", 1, 1)
        title = page.js("document.getElementById('hotkeystitle').textContent")
        check(title.startswith("Hot keys · cluster ("), f"cluster page: the hot-keys panel says its scope ({title})")
        banner = page.js("[document.getElementById('missing').hidden, document.getElementById('missing').textContent]")
        check(banner[0] is False and names[c] in banner[1] and f"127.0.0.1:{dead}" in banner[1] and "since" in banner[1],
              f"cluster page: a banner names the missing nodes and since when ({banner[1][:160]})")
        page.screenshot(os.path.join(artifacts, "cluster.png"))
        page.finish("cluster page: no console errors")

        # A node whose Prometheus does not answer: the page says so, in a banner and in the plot.
        viewer = bt.Demo(args.demo, work, "viewer", ["--rate", "0", "--churn-period", "0", "--prometheus-url", f"http://127.0.0.1:{dead}",
                                                      "--prometheus-selector", '{job="keyviz"}'])
        nodes.append(viewer)
        page = bt.Page(browser)
        page.call("Page.navigate", {"url": f"http://127.0.0.1:{viewer.port}/#scope=prometheus"})
        page.wait("window.keyviz && window.keyviz.state.ready && !document.getElementById('missing').hidden", "the Prometheus view's banner")
        text = page.js("document.getElementById('missing').textContent")
        check("Prometheus view has no data" in text and "refused" in text, f"Prometheus page: a banner says why the view is empty ({text[:120]})")
        page.screenshot(os.path.join(artifacts, "prometheus-down.png"))
        page.finish("Prometheus page: no console errors")
    except Exception as e:
        bt.FAILURES.append(f"{type(e).__name__}: {e}")
        print(f"FAIL {type(e).__name__}: {e}", flush=True)
    finally:
        if browser:
            browser.close()
        for n in nodes:
            n.stop()
        for f in os.listdir(work):
            if f.endswith(".log"):
                shutil.copy(os.path.join(work, f), artifacts)
        shutil.rmtree(work, ignore_errors=True)
    print(f"cluster-test: screenshots and logs in {artifacts}")
    print(f"cluster-test: {bt.PASSED[0]} passed, {len(bt.FAILURES)} failed")
    return 1 if bt.FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
