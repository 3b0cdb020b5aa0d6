#!/usr/bin/env python3
"""docs/openapi.yaml is a valid OpenAPI 3.1 document, and a live demo node answers as it says.

1. openapi-spec-validator (PyPI) validates the file.
2. A demo node on 127.0.0.1 runs a few seconds with churn (so some rows merge), then keeps
   serving with its matrix frozen. Each answer below is validated against the file's schemas
   (jsonschema, draft 2020-12): the matrix for every series, with a small row budget, with a key
   range, and the 400 errors; every matrix parameter the file lists is one the node reads.
3. Semantics the file states: merging keeps every column's total; rows are in key order; a key
   range keeps exactly the overlapping routes; route_ids has route_count ids unless truncated.

Usage: scripts/check-openapi.py [--demo .build/release/keyviz-demo]
"""
import argparse
import base64
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

import jsonschema
import yaml
from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename

HERE = os.path.dirname(os.path.abspath(__file__))
SPEC = os.path.join(HERE, "..", "docs", "openapi.yaml")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from keyviz_checks import check, failures, passed  # noqa: E402



def get(base, path):
    try:
        with urllib.request.urlopen(base + path, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--demo", default=".build/release/keyviz-demo")
    args = ap.parse_args()

    spec_dict, _ = read_from_filename(SPEC)
    validate(spec_dict)
    check(True, "docs/openapi.yaml is a valid OpenAPI 3.1 document")
    with open(SPEC) as f:
        spec = yaml.safe_load(f)

    def validator(name):
        root = dict(spec)
        root["$ref"] = "#/components/schemas/" + name
        return jsonschema.Draft202012Validator(root)
    matrix_schema, error_schema = validator("Matrix"), validator("Error")

    def valid(v, body, what):
        errs = sorted(v.iter_errors(body), key=str)
        check(not errs, what + ("" if not errs else ": " + errs[0].message[:200]))

    log = tempfile.NamedTemporaryFile("w+", prefix="keyviz-openapi-", suffix=".log", delete=False)
    demo = subprocess.Popen([args.demo, "--listen", "127.0.0.1:0", "--routes", "40", "--churn-period", "0.3", "--step", "0.5",
                             "--rate", "20000", "--duration", "4", "--linger", "120", "--status-every", "60"],
                            stdout=subprocess.DEVNULL, stderr=log)
    try:
        deadline = time.monotonic() + 60
        text = ""
        while "observed reads=" not in text:
            if time.monotonic() > deadline or demo.poll() is not None:
                raise RuntimeError("demo did not reach its frozen state: " + text)
            time.sleep(0.1)
            text = open(log.name).read()
        base = "http://127.0.0.1:" + re.search(r"127\.0\.0\.1:(\d+)", text).group(1)

        params = {p["name"] for p in spec["paths"]["/api/v1/keyviz/matrix"]["get"]["parameters"]}
        swift = open(os.path.join(HERE, "..", "Sources", "KeyVizHTTPHandler", "KeyVizHTTPRequest.swift")).read()
        read = set(re.search(r"readQuery = \[([^\]]*)\]", swift).group(1).replace('"', "").replace(" ", "").split(","))
        check(params <= read, f"every documented matrix parameter is one the server reads ({sorted(params - read)} missing)")

        hot_schema = validator("HotKeys")
        status, _, body = get(base, "/api/v1/keyviz/hot-keys")
        hot = json.loads(body)
        valid(hot_schema, hot, "hot-keys: the answer matches the HotKeys schema")
        check(status == 200 and hot["sample_every"] > 0 and len(hot["keys"]) > 0, f"hot-keys: {len(hot['keys'])} keys, sampled 1 in {hot['sample_every']}")
        if hot["keys"]:
            route = hot["keys"][0]["route_id"]
            status, _, body = get(base, f"/api/v1/keyviz/hot-keys?route={route}&op=write")
            one = json.loads(body)
            valid(hot_schema, one, "hot-keys?route&op: the answer matches the HotKeys schema")
            check(all(k["route_id"] == route and k["op"] == "write" for k in one["keys"]), "hot-keys?route&op: only that route's writes")
            shares = [k["estimated_operations"] for k in one["keys"]]
            check(shares == sorted(shares, reverse=True), "hot-keys?route&op: hottest first")
        for bad in ("op=delete", "route=-1", "route=x"):
            status, _, body = get(base, "/api/v1/keyviz/hot-keys?" + bad)
            check(status == 400, f"hot-keys?{bad}: 400")
        hot_params = {p["name"] for p in spec["paths"]["/api/v1/keyviz/hot-keys"]["get"]["parameters"]}
        check(hot_params <= read, f"every documented hot-keys parameter is one the server reads ({sorted(hot_params - read)} missing)")

        split_schema = validator("SplitAdvice")
        status, _, body = get(base, "/api/v1/keyviz/split-advice")
        advice = json.loads(body)
        valid(split_schema, advice, "split-advice: the answer matches the SplitAdvice schema")
        check(status == 200 and advice["sample_every"] > 0 and len(advice["advice"]) > 0,
              f"split-advice: {len(advice['advice'])} routes advised")
        status, _, body = get(base, "/api/v1/keyviz/split-advice?op=read")
        reads = json.loads(body)
        valid(split_schema, reads, "split-advice?op=read: the answer matches the SplitAdvice schema")
        check(all(a["op"] == "read" for a in reads["advice"]) and [a["rank"] for a in reads["advice"]] == list(range(1, len(reads["advice"]) + 1)),
              "split-advice?op=read: only reads, ranked 1, 2, …")
        for bad in ("op=delete", "scope=cluster"):
            status, _, body = get(base, "/api/v1/keyviz/split-advice?" + bad)
            check(status == 400, f"split-advice?{bad}: 400")
        split_params = {p["name"] for p in spec["paths"]["/api/v1/keyviz/split-advice"]["get"]["parameters"]}
        check(split_params <= read, f"every documented split-advice parameter is one the server reads ({sorted(split_params - read)} missing)")

        full = {}
        for series in ("reads", "writes", "read_bytes", "write_bytes"):
            status, headers, body = get(base, "/api/v1/keyviz/matrix?series=" + series)
            m = json.loads(body)
            check(status == 200 and headers.get("Cache-Control") == "no-store", f"{series}: 200 with Cache-Control: no-store")
            valid(matrix_schema, m, f"{series}: the answer matches the Matrix schema")
            full[series] = m
        m = full["writes"]
        check(m["series"] == "writes" and len(m["column_unix_ms"]) > 3, f"writes: {len(m['column_unix_ms'])} columns, {len(m['rows'])} rows")
        keys = [base64.b64decode(r["start"]) for r in m["rows"]]
        check(keys == sorted(keys), "rows are in key order")

        # Route change events: the churn made some; each lies in the columns' span and a split's
        # (merge's) routes tile the one route they replaced (replace).
        ev = m["events"]
        kinds = {e["kind"] for e in ev}
        check(len(ev) > 0 and kinds & {"split", "merge"}, f"events: {len(ev)} route changes under churn ({sorted(kinds)})")
        lo_t = m["column_unix_ms"][0] - m["step_ms"]
        check(all(lo_t <= e["unix_ms"] for e in ev) and [e["unix_ms"] for e in ev] == sorted(e["unix_ms"] for e in ev),
              "events: oldest first, none before the first column's window")

        def tiles(parts, whole):
            return (parts[0]["start"] == whole["start"] and parts[-1]["end"] == whole["end"]
                    and all(a["end"] == b["start"] for a, b in zip(parts, parts[1:])))
        check(all(tiles(e["after"], e["before"][0]) for e in ev if e["kind"] == "split")
              and all(tiles(e["before"], e["after"][0]) for e in ev if e["kind"] == "merge"),
              "events: a split's new routes (a merge's old routes) tile the range of the route they replace")
        mid = ev[len(ev) // 2]["unix_ms"] if ev else 0
        status, _, body = get(base, f"/api/v1/keyviz/matrix?series=writes&from_unix_ms={mid}")
        later = json.loads(body)
        valid(matrix_schema, later, "from_unix_ms: the answer matches the Matrix schema")
        check([e for e in later["events"]] == [e for e in ev if e["unix_ms"] >= mid], "from_unix_ms: exactly the events at or after it")

        status, _, body = get(base, "/api/v1/keyviz/matrix?series=writes&rows=3")
        small = json.loads(body)
        valid(matrix_schema, small, "rows=3: the answer matches the Matrix schema")
        check(len(small["rows"]) == 3 and any(r["aggregate"] for r in small["rows"]), "rows=3: three rows, merged")
        cols = len(m["column_unix_ms"])
        same = all(sum(r["values"][j] for r in small["rows"]) == sum(r["values"][j] for r in m["rows"]) for j in range(cols))
        check(same, "rows=3: every column keeps its total")
        check(all(r["route_ids_truncated"] or len(r["route_ids"]) == r["route_count"] for r in small["rows"]),
              "route_ids lists route_count ids unless truncated")
        check(all(re.fullmatch(r"aggregate:\d+\+\d+", r["row_id"]) for r in small["rows"] if r["aggregate"]), "aggregate bucket ids")

        rows = m["rows"]
        a, b = rows[len(rows) // 4], rows[len(rows) // 2]
        q = "start_key=" + urllib.parse.quote(a["start"], safe="") + "&end_key=" + urllib.parse.quote(b["start"], safe="")
        status, _, body = get(base, "/api/v1/keyviz/matrix?series=writes&" + q)
        ranged = json.loads(body)
        valid(matrix_schema, ranged, "key range: the answer matches the Matrix schema")
        lo, hi = base64.b64decode(a["start"]), base64.b64decode(b["start"])
        want = [r["row_id"] for r in rows if (r["end"] == "" or lo < base64.b64decode(r["end"])) and base64.b64decode(r["start"]) < hi]
        check([r["row_id"] for r in ranged["rows"]] == want, f"key range: exactly the {len(want)} overlapping rows")

        # History tiers: resolution_ms picks the 60 s tier (the demo's default --tiers); its
        # columns sit on wall-clock minutes and each row keeps its total over the same flushes.
        status, _, body = get(base, "/api/v1/keyviz/matrix?series=writes&resolution_ms=60000")
        coarse = json.loads(body)
        valid(matrix_schema, coarse, "resolution_ms=60000: the answer matches the Matrix schema")
        check(coarse["step_ms"] == 60000 and all(t % 60000 == 0 for t in coarse["column_unix_ms"]),
              f"resolution_ms=60000: step_ms {coarse['step_ms']}, columns on minute boundaries {coarse['column_unix_ms']}")
        fine_totals = {r["row_id"]: sum(r["values"]) for r in m["rows"]}
        coarse_totals = {r["row_id"]: sum(r["values"]) for r in coarse["rows"]}
        check(fine_totals == coarse_totals and m["step_ms"] == 500, "resolution_ms=60000: every row's total equals its total at the 0.5 s step")

        for query, name in (("series=nope", "series"), ("from_unix_ms=x", "from_unix_ms"), ("rows=1.5", "rows"), ("resolution_ms=-5", "resolution_ms"),
                            ("start_key=%21%21", "start_key"), ("start_key=QQ%3D%3D&end_key=QQ%3D%3D", "end_key")):
            status, _, body = get(base, "/api/v1/keyviz/matrix?" + query)
            e = json.loads(body)
            check(status == 400 and e.get("code") == "invalid_query", f"{query}: 400 invalid_query")
            valid(error_schema, e, f"{query}: the error matches the Error schema")
        # scope=cluster on a node without peers: its own matrix in the cluster shape (same column totals).
        status, _, body = get(base, "/api/v1/keyviz/matrix?series=writes&scope=cluster")
        cl = json.loads(body)
        valid(matrix_schema, cl, "scope=cluster: the answer matches the Matrix schema")
        check(status == 200 and cl.get("scope") == "cluster" and [n["ok"] for n in cl.get("nodes", [])] == [True],
              "scope=cluster: one node (this one), answered")
        local_tot = {}
        for j, t in enumerate(m["column_unix_ms"]):
            g = -(-t // m["step_ms"]) * m["step_ms"]
            local_tot[g] = local_tot.get(g, 0) + sum(r["values"][j] for r in m["rows"])
        cl_tot = {t: sum(r["values"][j] for r in cl["rows"]) for j, t in enumerate(cl["column_unix_ms"])}
        check(cl_tot == local_tot, "scope=cluster: every grid column's total equals the node's own")
        status, _, body = get(base, "/api/v1/keyviz/matrix?scope=everywhere")
        check(status == 400, "scope=everywhere: 400")
        status, headers, body = get(base, "/")
        check(status == 200 and headers.get("Content-Type") == "text/html; charset=utf-8"
              and headers.get("Cache-Control") == "no-cache", "/: the page, text/html, no-cache")
    finally:
        demo.terminate()
        demo.wait(10)
        os.unlink(log.name)
    print(f"check-openapi: {passed[0]} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
