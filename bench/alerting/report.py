#!/usr/bin/env python3
"""Ratio table for side_by_side.sh: reads RESULTS_DIR/alerting.txt and the alerting_*.json files next to it.

  report.py RESULTS_DIR/alerting.txt
Ratios are Watchkeeper / Alertmanager; the targets of issue 10 are in the last column.
"""
import json
import os
import re
import sys

txt = sys.argv[1]
d = os.path.dirname(txt)
rows = []


def load(name):
    p = os.path.join(d, name)
    return json.load(open(p)) if os.path.exists(p) else None


def ratio(wk, am):
    return "%.2f" % (wk / am) if wk is not None and am else "-"


for gw in ("0s", "1s"):
    am, wk = load("alerting_latency_am_%s.json" % gw), load("alerting_latency_wk_%s.json" % gw)
    for k in ("median_ms", "p99_ms"):
        a, w = (am or {}).get(k), (wk or {}).get(k)
        target = "<= 1.00" if (gw, k) == ("0s", "p99_ms") else ""
        rows.append(("(b) new group -> webhook %s, group_wait %s" % (k[:-3], gw), a, w, ratio(w, a), target, "ms"))
am, wk = load("alerting_fill_am.json"), load("alerting_fill_wk.json")
for t in sorted({k for x in (am or {}, wk or {}) for k in x if k != "baseline"}, key=int):
    a = (am or {}).get(t, {}).get("rss_bytes"); w = (wk or {}).get(t, {}).get("rss_bytes")
    a, w = (a / 2**20 if a else None), (w / 2**20 if w else None)
    rows.append(("(c) RSS with %s alerts" % t, a and round(a, 1), w and round(w, 1), ratio(w, a), "<= 1.00", "MiB"))
tp = {}
for line in open(txt):
    m = re.match(r"\s+\(a\) (am|wk|floor) batch=(\d+) reqs=\d+ in [\d.]+s -> [\d.]+ req/s, (\d+) alerts/s.*?p99=([\d.]+)ms; ([\d.]+) cpu-s", line)
    if m:
        tp[(m.group(1), int(m.group(2)))] = (float(m.group(3)), float(m.group(5)))
for b in sorted({b for _, b in tp}):
    a, w = tp.get(("am", b)), tp.get(("wk", b))
    rows.append(("(a) POST alerts/s, batch %d" % b, a and a[0], w and w[0], ratio(w and w[0], a and a[0]), ">= 2.00", "alerts/s"))
    rows.append(("(a) server CPU-s per 1k alerts, batch %d" % b, a and a[1], w and w[1], ratio(w and w[1], a and a[1]), "", "cpu-s"))
    f = tp.get(("floor", b))
    if f:
        # In the Watchkeeper column: ASP.NET Core answering 200 after reading the body (bench/KestrelFloor), nothing else.
        rows.append(("(a) floor (Kestrel, 200, no work) alerts/s, batch %d" % b, a and a[0], f[0], ratio(f[0], a and a[0]), "", "alerts/s"))
print("\n| measure | Alertmanager 0.25 | Watchkeeper | WK/AM | target |")
print("|---|---|---|---|---|")
for name, a, w, r, t, unit in rows:
    print("| %s (%s) | %s | %s | %s | %s |" % (name, unit, a if a is not None else "-", w if w is not None else "-", r, t))
