#!/usr/bin/env python3
"""Runs the peers' am_load.py (latency probe and fill) against Alertmanager or Watchkeeper, unchanged.

  wk_load.py latency|fill ...   (the arguments of ../shared/bench/peers/am_load.py)

am_load.py is imported from $PEERS by path, not copied. Two of its functions are replaced so that the same code
drives Watchkeeper: `post` adds $AM_PREFIX (e.g. /alertmanager) to /api/v2/alerts and sends
`Authorization: Bearer $AM_TOKEN`; `am_metrics` reads Watchkeeper's watchkeeper_alerts and
watchkeeper_dispatcher_aggregation_groups under Alertmanager's names. With AM_PREFIX and AM_TOKEN empty both
behave exactly as the originals, so Alertmanager is driven by the same code path.
"""
import importlib.util
import json
import os
import sys
import urllib.request

spec = importlib.util.spec_from_file_location("am_load", os.path.join(os.environ["PEERS"], "am_load.py"))
am_load = importlib.util.module_from_spec(spec)
spec.loader.exec_module(am_load)

PREFIX = os.environ.get("AM_PREFIX", "")
TOKEN = os.environ.get("AM_TOKEN", "")
_orig_metrics = am_load.am_metrics


def post(conn, alerts):
    body = json.dumps(alerts).encode()
    headers = {"Content-Type": "application/json"}
    if TOKEN:
        headers["Authorization"] = "Bearer " + TOKEN
    conn.request("POST", PREFIX + "/api/v2/alerts", body, headers)
    r = conn.getresponse()
    r.read()
    if r.status != 200:
        raise RuntimeError("POST %s/api/v2/alerts -> %d" % (PREFIX, r.status))


def am_metrics(am):
    if not PREFIX:
        return _orig_metrics(am)
    vals = {}
    with urllib.request.urlopen(am + "/metrics", timeout=30) as r:
        for line in r.read().decode().splitlines():
            if line.startswith("watchkeeper_alerts "):
                vals['alertmanager_alerts{state="active"}'] = float(line.rpartition(" ")[2])
            elif line.startswith("watchkeeper_dispatcher_aggregation_groups "):
                vals["alertmanager_dispatcher_aggregation_groups"] = float(line.rpartition(" ")[2])
    return vals


am_load.post = post
am_load.am_metrics = am_metrics

if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "latency":
        am_load.latency(args[0], args[1], args[2], int(args[3]), float(args[4]), args[5])
    elif cmd == "fill":
        am_load.fill(args[0], args[1], args[2], args[3:])
    else:
        sys.exit(__doc__)
