#!/usr/bin/env python3
"""Measurement helper for bench/rules/side_by_side.sh (stdlib only, loopback only).

  probe.py rules DURATION_S EVAL_S OUT.json PROM_URL PROM_PID WK_URL WK_PID
      Samples both systems' rule-group duration gauges every EVAL_S for DURATION_S: Prometheus's
      prometheus_rule_group_last_duration_seconds and Watchkeeper's watchkeeper_rule_group_last_duration_seconds
      (the same gauge under Watchkeeper's metric namespace), keyed by group name; also the CPU both used over the
      window (/proc) and the alerts pending or firing (ALERTS).
  probe.py fault OUT.json FAULT_T INSTANCE AM_RECV_LOG WK_RECV_LOG TIMEOUT_S
      Waits (bounded) until each webhook log has a notification whose group labels name INSTANCE and records
      the time from FAULT_T (the moment the target was killed) to the first one.
  probe.py report RULES.json FAULT.json EVAL_S FOR_S
"""
import json
import os
import statistics
import sys
import time
import urllib.parse
import urllib.request


def get(url, timeout=30, token=None):
    req = urllib.request.Request(url)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.read()


def group_durations(base, metric):
    out = {}
    for line in get(base + "/metrics").decode().splitlines():
        if not line.startswith(metric + "{"):
            continue
        lbl, _, v = line.rpartition(" ")
        key = lbl.split('rule_group="', 1)[1].split('"', 1)[0]
        out[key.rpartition(";")[2]] = float(v)
    return out


def proc_cpu(pid):
    try:
        with open("/proc/%s/stat" % pid) as f:
            parts = f.read().rsplit(")", 1)[1].split()
        return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def alerts(base, prefix, token=None):
    q = urllib.parse.urlencode({"query": "count by (alertname, alertstate) (ALERTS)"})
    try:
        d = json.loads(get("%s%s/api/v1/query?%s" % (base, prefix, q), token=token))
        return {"%s/%s" % (r["metric"].get("alertname"), r["metric"].get("alertstate")): int(r["value"][1]) for r in d["data"]["result"]}
    except Exception as e:  # noqa: BLE001 - reported, not fatal
        return {"error": str(e)[:200]}


def rules(duration, eval_s, out, prom_url, prom_pid, wk_url, wk_pid):
    duration, eval_s = min(float(duration), 1800), max(float(eval_s), 1)
    samples = {"prometheus": {}, "watchkeeper": {}}
    cpu0 = {"prometheus": proc_cpu(prom_pid), "watchkeeper": proc_cpu(wk_pid)}
    t0 = time.time()
    deadline = t0 + duration
    n = 0
    while time.time() < deadline and n < 10000:
        n += 1
        for name, url, metric in (("prometheus", prom_url, "prometheus_rule_group_last_duration_seconds"),
                                  ("watchkeeper", wk_url, "watchkeeper_rule_group_last_duration_seconds")):
            try:
                for g, v in group_durations(url, metric).items():
                    samples[name].setdefault(g, []).append(v)
            except OSError:
                pass
        time.sleep(eval_s)
    elapsed = time.time() - t0
    cpu = {"prometheus": (proc_cpu(prom_pid) - cpu0["prometheus"]) / elapsed, "watchkeeper": (proc_cpu(wk_pid) - cpu0["watchkeeper"]) / elapsed}
    res = {"window_s": round(elapsed, 1), "cpu_cores": cpu, "groups": {}}
    for name, gs in samples.items():
        for g, xs in gs.items():
            res["groups"].setdefault(g, {})[name] = {"n": len(xs), "median_ms": round(statistics.median(xs) * 1e3, 2),
                                                     "max_ms": round(max(xs) * 1e3, 2)}
    json.dump(res, open(out, "w"), indent=1)
    print(json.dumps(res))


def first_notification(log, instance, since):
    try:
        with open(log) as f:
            for line in f:
                rec = json.loads(line)
                if (rec.get("groupLabels") or {}).get("instance") == instance and rec["t"] >= since:
                    return rec["t"]
    except OSError:
        pass
    return None


def fault(out, fault_t, instance, am_log, wk_log, timeout):
    fault_t, deadline = float(fault_t), time.time() + min(float(timeout), 600)
    got = {}
    while time.time() < deadline and len(got) < 2:
        for name, log in (("prometheus+alertmanager", am_log), ("watchkeeper", wk_log)):
            if name not in got and (t := first_notification(log, instance, fault_t)) is not None:
                got[name] = round(t - fault_t, 2)
        time.sleep(0.2)
    res = {"instance": instance, "fault_t": fault_t, "seconds_to_first_notification": got}
    json.dump(res, open(out, "w"), indent=1)
    print(json.dumps(res))


def report(rfile, ffile, eval_s, for_s):
    r = json.load(open(rfile)) if os.path.exists(rfile) else {"groups": {}, "cpu_cores": {}}
    print("rule-group evaluation, median / max of the samples (ms), window %ss:" % r.get("window_s"))
    print("\n| group | Prometheus 2.42 | Watchkeeper | WK/Prom (median) | target |")
    print("|---|---|---|---|---|")
    for g, v in sorted(r["groups"].items()):
        p, w = v.get("prometheus"), v.get("watchkeeper")
        ratio = "%.2f" % (w["median_ms"] / p["median_ms"]) if p and w and p["median_ms"] else "-"
        fmt = lambda x: "%s / %s" % (x["median_ms"], x["max_ms"]) if x else "-"
        print("| %s | %s | %s | %s | <= 0.50 |" % (g, fmt(p), fmt(w), ratio))
    c = r.get("cpu_cores", {})
    if c:
        print("\nCPU over the window (cores, scrape + rules): Prometheus %.3f, Watchkeeper %.3f" % (c.get("prometheus", 0), c.get("watchkeeper", 0)))
    if os.path.exists(ffile):
        f = json.load(open(ffile))
        limit = float(for_s) + float(eval_s) + 1
        print("\nfault to first notification (s); target <= for + one evaluation interval + 1 s = %.0f s:" % limit)
        for name, s in sorted(f["seconds_to_first_notification"].items()):
            print("  %s: %.2f s (%s)" % (name, s, "within" if s <= limit else "OVER"))
        for name in ("prometheus+alertmanager", "watchkeeper"):
            if name not in f["seconds_to_first_notification"]:
                print("  %s: no notification within the timeout" % name)


if __name__ == "__main__":
    cmd, a = sys.argv[1], sys.argv[2:]
    if cmd == "rules":
        rules(*a[:7])
    elif cmd == "fault":
        fault(*a[:6])
    elif cmd == "report":
        report(*a[:4])
    else:
        sys.exit(__doc__)
