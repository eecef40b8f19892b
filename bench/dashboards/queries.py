#!/usr/bin/env python3
"""The queries of bench-8-panels.json against Prometheus and Watchkeeper, same run (stdlib only, loopback only).

  queries.py N PROM_URL WK_URL WK_TOKEN PROM_PID WK_PID

The dashboard's panels as Grafana would send them for "last 15 minutes" with a 5 s scrape interval: the time series
and heatmap panels as range queries (step 5 s, $__rate_interval = 20 s), the stats, gauge, bar gauge and table as
instant queries. (1) Each heavy range query N times through /api/v1/query_range, alternating call by call between the
two systems: median and min wall time, and the server's CPU time per call (utime + stime from /proc over the calls).
(2) The whole dashboard as Grafana loads it: all 8 queries at once (8 threads), N times per system, alternating:
median and min wall time until the last one answered. The 1-minute load average is printed with each line.
"""
import json, os, statistics, sys, threading, time, urllib.parse, urllib.request

RANGE = [
    ("rate by job", "sum by (job) (rate(http_requests_total[20s]))"),
    ("p95 by job", "histogram_quantile(0.95, sum by (job, le) (rate(http_request_duration_seconds_bucket[20s])))"),
    ("heatmap by le", "sum by (le) (increase(http_request_duration_seconds_bucket[20s]))"),
]
INSTANT = [
    "sum by (job) (up)",
    'sum(rate(http_requests_total{status=~"5.."}[5m])) / sum(rate(http_requests_total[5m]))',
    '1 - avg(rate(node_cpu_seconds_total{mode="idle"}[20s]))',
    "100 * (1 - sum by (job) (node_filesystem_avail_bytes) / sum by (job) (node_filesystem_size_bytes))",
    'topk(10, sum by (path) (rate(http_requests_total{status=~"5.."}[5m])))',
]


def load():
    return open("/proc/loadavg").read().split()[0]


def cpu(pid):
    with open("/proc/%s/stat" % pid) as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")


def call(base, path, params, token):
    req = urllib.request.Request(base + path + "?" + urllib.parse.urlencode(params))
    if token:
        req.add_header("Authorization", "Bearer " + token)
    t0 = time.perf_counter()
    with urllib.request.urlopen(req, timeout=300) as r:
        body = json.loads(r.read())
    dt = time.perf_counter() - t0
    if body.get("status") != "success":
        raise SystemExit("query failed: %s %s" % (params.get("query"), body))
    return dt, len(body["data"]["result"])


def main():
    n, prom, wk, token, prom_pid, wk_pid = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
    systems = [("prometheus", prom, "/api/v1", None, prom_pid), ("watchkeeper", wk, "/prometheus/api/v1", token, wk_pid)]
    print("range queries, 15 minutes at step 5 s, %d calls each, alternating (median / min wall, server CPU per call)" % n)
    for name, q in RANGE:
        res = {s[0]: [] for s in systems}
        cpus = {s[0]: 0.0 for s in systems}
        series = {}
        for _ in range(n):
            end = time.time()
            params = {"query": q, "start": "%.3f" % (end - 900), "end": "%.3f" % end, "step": "5"}
            for sys_name, base, api, tok, pid in systems:
                c0 = cpu(pid)
                dt, k = call(base, api + "/query_range", params, tok)
                cpus[sys_name] += cpu(pid) - c0
                res[sys_name].append(dt)
                series[sys_name] = k
        p, w = statistics.median(res["prometheus"]), statistics.median(res["watchkeeper"])
        print("  %-14s prometheus %7.0f / %7.0f ms, %6.0f ms CPU | watchkeeper %7.0f / %7.0f ms, %6.0f ms CPU | WK/Prom wall %.2f, CPU %.2f | series %s/%s | load %s" % (
            name, p * 1000, min(res["prometheus"]) * 1000, cpus["prometheus"] / n * 1000,
            w * 1000, min(res["watchkeeper"]) * 1000, cpus["watchkeeper"] / n * 1000,
            w / p, (cpus["watchkeeper"] / max(cpus["prometheus"], 1e-9)), series["prometheus"], series["watchkeeper"], load()))

    print("whole dashboard: the 8 queries at once, %d times per system, alternating (median / min wall, server CPU per load)" % n)
    res = {s[0]: [] for s in systems}
    cpus = {s[0]: 0.0 for s in systems}
    failed = {s[0]: [] for s in systems}
    for _ in range(n):
        for sys_name, base, api, tok, pid in systems:
            end = time.time()
            jobs = [(api + "/query_range", {"query": q, "start": "%.3f" % (end - 900), "end": "%.3f" % end, "step": "5"}) for _, q in RANGE]
            jobs += [(api + "/query", {"query": q, "time": "%.3f" % end}) for q in INSTANT]
            errors = []

            def run(path, params):
                try:
                    call(base, path, params, tok)
                except BaseException as e:  # noqa: BLE001 - reported below
                    errors.append(repr(e))
            threads = [threading.Thread(target=run, args=j) for j in jobs]
            c0 = cpu(pid)
            t0 = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            res[sys_name].append(time.perf_counter() - t0)
            cpus[sys_name] += cpu(pid) - c0
            if errors:
                failed[sys_name].append(errors[0])
                res[sys_name].pop()
    for sys_name, errs in failed.items():
        if errs:
            print("  %s: %d of %d dashboard loads had a failed query, e.g. %s" % (sys_name, len(errs), n, errs[0]))
    if not res["prometheus"] or not res["watchkeeper"]:
        return
    p, w = statistics.median(res["prometheus"]), statistics.median(res["watchkeeper"])
    print("  %-14s prometheus %7.0f / %7.0f ms, %6.0f ms CPU | watchkeeper %7.0f / %7.0f ms, %6.0f ms CPU | WK/Prom wall %.2f, CPU %.2f | load %s" % (
        "8 panels", p * 1000, min(res["prometheus"]) * 1000, cpus["prometheus"] / n * 1000,
        w * 1000, min(res["watchkeeper"]) * 1000, cpus["watchkeeper"] / n * 1000, w / p,
        cpus["watchkeeper"] / max(cpus["prometheus"], 1e-9), load()))


if __name__ == "__main__":
    main()
