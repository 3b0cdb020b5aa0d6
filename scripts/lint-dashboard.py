#!/usr/bin/env python3
"""Lints Grafana dashboard JSON for what KeyViz promises: importable into Grafana 10/11.

Checks: valid JSON; uid, title and tags; a `datasource` variable (type datasource, query
prometheus) used by every panel and target; `job` and `instance` variables; no Angular panel
types; every rate()/irate()/increase() over [$__rate_interval]; every panel with a description
and a unit; unique panel ids. Prints each problem and exits 1 if there is any.
"""
import json
import re
import sys

ANGULAR = {"graph", "singlestat", "table-old", "grafana-piechart-panel", "grafana-worldmap-panel", "natel-discrete-panel"}
ALLOWED = {"row", "timeseries", "heatmap", "table", "stat", "bargauge", "gauge", "text", "barchart", "state-timeline"}
RANGE_FUNCS = re.compile(r"\b(rate|irate|increase|delta|idelta)\s*\(")


def lint(path):
    problems = []
    try:
        d = json.load(open(path))
    except (OSError, ValueError) as e:
        return [f"{path}: not valid JSON: {e}"]
    for key in ("uid", "title"):
        if not d.get(key):
            problems.append(f"{path}: missing {key}")
    if not d.get("tags"):
        problems.append(f"{path}: no tags")
    variables = {v.get("name"): v for v in d.get("templating", {}).get("list", [])}
    ds = variables.get("datasource")
    if not ds or ds.get("type") != "datasource" or ds.get("query") != "prometheus":
        problems.append(f"{path}: needs a 'datasource' variable of type datasource with query prometheus")
    for name in ("job", "instance"):
        if name not in variables:
            problems.append(f"{path}: missing the '{name}' variable")
    ids = set()
    for p in d.get("panels", []):
        where = f"{path}: panel {p.get('id')} '{p.get('title')}'"
        if p.get("id") in ids:
            problems.append(f"{where}: duplicate id")
        ids.add(p.get("id"))
        t = p.get("type")
        if t in ANGULAR or t not in ALLOWED:
            problems.append(f"{where}: panel type '{t}' is Angular or unknown")
        if t == "row":
            continue
        if (p.get("datasource") or {}).get("uid") != "${datasource}":
            problems.append(f"{where}: panel datasource must be ${{datasource}}")
        if not p.get("description"):
            problems.append(f"{where}: no description")
        if not p.get("fieldConfig", {}).get("defaults", {}).get("unit"):
            problems.append(f"{where}: no unit")
        if not p.get("targets"):
            problems.append(f"{where}: no targets")
        for tgt in p.get("targets", []):
            if (tgt.get("datasource") or {}).get("uid") != "${datasource}":
                problems.append(f"{where} target {tgt.get('refId')}: datasource must be ${{datasource}}")
            expr = tgt.get("expr", "")
            if not expr:
                problems.append(f"{where} target {tgt.get('refId')}: empty expr")
            for m in RANGE_FUNCS.finditer(expr):
                depth, i = 1, m.end()
                while i < len(expr) and depth:
                    depth += {"(": 1, ")": -1}.get(expr[i], 0)
                    i += 1
                inner = expr[m.end():i - 1]
                ranges = re.findall(r"\[([^\]]*)\]", inner)
                if not ranges or any(r != "$__rate_interval" for r in ranges):
                    problems.append(f"{where} target {tgt.get('refId')}: {m.group(1)}() must use [$__rate_interval]")
    return problems


def main(paths):
    problems = [p for path in paths for p in lint(path)]
    for p in problems:
        print(p)
    print(f"dashboard lint: {len(paths)} file(s), {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["dashboards/grafana/keyviz-overview.json"]))
