#!/usr/bin/env python3
"""Lints Grafana dashboard JSON for what KeyViz promises: importable into Grafana 10/11.

Checks: valid JSON; uid, title and tags; `__inputs` with a Prometheus data source (so import
asks for one); a `datasource` variable (type datasource, query prometheus) used by every panel,
target and query annotation; `job` and `instance` variables; no Angular panel types; every
rate()/irate()/increase() over [$__rate_interval]; every panel with a description and a unit;
a byte series (`_bytes` in its query) shown in a byte unit and no other series in one; unique
panel ids; an ALERTS annotation or panel; every runbook link pointing at a heading of
docs/alerts.md; and, for each time-series panel of a metric an alert compares with a number,
threshold lines at exactly the alert's numbers. It also checks that every alert's runbook_url
points at a heading of docs/alerts.md. Prints each problem and exits 1 if there is any.
"""
import json
import os
import re
import sys

ANGULAR = {"graph", "singlestat", "table-old", "grafana-piechart-panel", "grafana-worldmap-panel", "natel-discrete-panel"}
ALLOWED = {"row", "timeseries", "heatmap", "table", "stat", "bargauge", "gauge", "text", "barchart", "state-timeline", "alertlist"}
RANGE_FUNCS = re.compile(r"\b(rate|irate|increase|delta|idelta)\s*\(")
BYTE_UNITS = {"bytes", "decbytes", "Bps", "binBps", "KBs", "MBs", "GBs", "kbytes", "mbytes", "gbytes"}
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
ALERTS_YML = os.path.join(ROOT, "dashboards", "prometheus", "keyviz-alerts.yml")
ALERTS_MD = os.path.join(ROOT, "docs", "alerts.md")


def doc_anchors():
    """GitHub-style anchors of the headings of docs/alerts.md."""
    try:
        text = open(ALERTS_MD).read()
    except OSError:
        return set()
    return {re.sub(r"[^a-z0-9 -]", "", h.strip().lower()).replace(" ", "-") for h in re.findall(r"^#+\s+(.*)$", text, re.M)}


def alert_thresholds():
    """{base metric: {numbers}} for alert expressions of the form `metric > number`, where a
    recorded `level:metric:operation` counts as its metric."""
    try:
        text = open(ALERTS_YML).read()
    except OSError:
        return {}, []
    out = {}
    for name, number in re.findall(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{[^}]*\})?\s*>\s*([0-9][0-9.e+-]*)\b", text):
        base = name.split(":")[1] if name.count(":") == 2 else name
        out.setdefault(base, set()).add(float(number))
    return out, re.findall(r"runbook_url:\s*(\S+)", text)


def anchor_problems(where, url, anchors):
    if "alerts.md#" in url and url.split("#", 1)[1] not in anchors:
        return [f"{where}: runbook link {url} has no heading in docs/alerts.md"]
    return []


def lint(path):
    problems = []
    try:
        d = json.load(open(path))
    except (OSError, ValueError) as e:
        return [f"{path}: not valid JSON: {e}"]
    anchors = doc_anchors()
    thresholds, runbooks = alert_thresholds()
    for url in runbooks:
        problems += anchor_problems(f"{ALERTS_YML}", url, anchors)
    for key in ("uid", "title"):
        if not d.get(key):
            problems.append(f"{path}: missing {key}")
    if not d.get("tags"):
        problems.append(f"{path}: no tags")
    if not any(i.get("type") == "datasource" and i.get("pluginId") == "prometheus" for i in d.get("__inputs", [])):
        problems.append(f"{path}: needs __inputs with a prometheus data source, so import asks for one")
    variables = {v.get("name"): v for v in d.get("templating", {}).get("list", [])}
    ds = variables.get("datasource")
    if not ds or ds.get("type") != "datasource" or ds.get("query") != "prometheus":
        problems.append(f"{path}: needs a 'datasource' variable of type datasource with query prometheus")
    for name in ("job", "instance"):
        if name not in variables:
            problems.append(f"{path}: missing the '{name}' variable")
    alerts_shown = False
    for a in d.get("annotations", {}).get("list", []):
        if a.get("builtIn"):
            continue
        if (a.get("datasource") or {}).get("uid") != "${datasource}":
            problems.append(f"{path}: annotation '{a.get('name')}' must use ${{datasource}}")
        alerts_shown |= "ALERTS" in a.get("expr", "")
    for link in d.get("links", []):
        problems += anchor_problems(f"{path}: dashboard link", link.get("url", ""), anchors)
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
        alerts_shown |= t == "alertlist"
        for link in p.get("links", []):
            problems += anchor_problems(where, link.get("url", ""), anchors)
        if (p.get("datasource") or {}).get("uid") != "${datasource}":
            problems.append(f"{where}: panel datasource must be ${{datasource}}")
        if not p.get("description"):
            problems.append(f"{where}: no description")
        defaults = p.get("fieldConfig", {}).get("defaults", {})
        unit = defaults.get("unit")
        if not unit:
            problems.append(f"{where}: no unit")
        if not p.get("targets") and t != "alertlist":
            problems.append(f"{where}: no targets")
        ref_units = {}
        for o in p.get("fieldConfig", {}).get("overrides", []):
            m = o.get("matcher", {})
            for prop in o.get("properties", []):
                if m.get("id") == "byFrameRefID" and prop.get("id") == "unit":
                    ref_units[m.get("options")] = prop.get("value")
        steps = [s.get("value") for s in defaults.get("thresholds", {}).get("steps", []) if s.get("value") is not None]
        style = defaults.get("custom", {}).get("thresholdsStyle", {}).get("mode", "off")
        for tgt in p.get("targets", []):
            ref = tgt.get("refId")
            if (tgt.get("datasource") or {}).get("uid") != "${datasource}":
                problems.append(f"{where} target {ref}: datasource must be ${{datasource}}")
            expr = tgt.get("expr", "")
            if not expr:
                problems.append(f"{where} target {ref}: empty expr")
            alerts_shown |= "ALERTS" in expr
            for m in RANGE_FUNCS.finditer(expr):
                depth, i = 1, m.end()
                while i < len(expr) and depth:
                    depth += {"(": 1, ")": -1}.get(expr[i], 0)
                    i += 1
                inner = expr[m.end():i - 1]
                ranges = re.findall(r"\[([^\]]*)\]", inner)
                if not ranges or any(r != "$__rate_interval" for r in ranges):
                    problems.append(f"{where} target {ref}: {m.group(1)}() must use [$__rate_interval]")
            if t in ("timeseries", "heatmap"):
                shown = ref_units.get(ref, unit)
                if ("_bytes" in expr) != (shown in BYTE_UNITS):
                    problems.append(f"{where} target {ref}: unit '{shown}' does not fit {'a byte' if '_bytes' in expr else 'a non-byte'} series")
            if t == "timeseries":
                for metric, numbers in thresholds.items():
                    if re.search(r"(^|[^a-zA-Z0-9_])" + re.escape(metric) + r"([^a-zA-Z0-9_]|$)", expr):
                        if style == "off" or set(steps) != numbers:
                            problems.append(f"{where}: shows {metric}, which an alert compares with {sorted(numbers)}: "
                                            f"needs threshold lines there (has {steps}, style {style})")
    if not alerts_shown:
        problems.append(f"{path}: shows no alerts (an ALERTS annotation, an ALERTS query or an alert list panel)")
    return list(dict.fromkeys(problems))


def main(paths):
    problems = [p for path in paths for p in lint(path)]
    for p in problems:
        print(p)
    print(f"dashboard lint: {len(paths)} file(s), {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["dashboards/grafana/keyviz-overview.json"]))
