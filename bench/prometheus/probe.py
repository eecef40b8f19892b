#!/usr/bin/env python3
"""Measurement helper for side_by_side.sh (stdlib only, loopback only).

  probe.py wait-series URL METRIC MIN TIMEOUT_S
  probe.py measure DURATION_S OUT.json PROM_URL PROM_PID PROM_DATA WK_URL WK_PID WK_DATA [EXPORTER_PID ...]
  probe.py query N OUT.json PROM_URL WK_URL WK_TOKEN
  probe.py report MEASURE.json QUERY.json [OFFLINE.json]

Both systems are measured the same way: CPU from /proc/PID/stat (utime+stime) over the same window, RSS from
/proc/PID/status (VmRSS, sampled every 2 s, last and max), head series and appended samples from each one's own
/metrics, WAL bytes from the data directory. Queries alternate between the two systems, call by call.
"""
import json, math, os, statistics, sys, time, urllib.parse, urllib.request

EXPRS = {
    "up == 0": 'up{job=~"api-service|web-interface"} == 0',
    "5xx rate": 'rate(http_requests_total{status=~"5.."}[5m]) > 0.1',
    "p95": 'histogram_quantile(0.95, rate(http_request_duration_seconds_bucket[5m])) > 0.5',
}
PROM = {"series": "prometheus_tsdb_head_series", "samples": "prometheus_tsdb_head_samples_appended_total",
        "gc_pause": "go_gc_duration_seconds_sum"}  # Go: stop-the-world pause durations
WK = {"series": "watchkeeper_tsdb_head_series", "samples": "watchkeeper_tsdb_head_samples_appended_total",
      "gc_pause": "dotnet_gc_pause_time_seconds_total"}  # .NET: time threads were paused for GC


def get(url, timeout=30, token=None):
    req = urllib.request.Request(url)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.read()


def metrics(base):
    vals = {}
    for line in get(base + "/metrics").decode().splitlines():
        if not line or line[0] == "#":
            continue
        name_lbl, _, v = line.rpartition(" ")
        name = name_lbl.split("{", 1)[0]
        try:
            vals[name] = vals.get(name, 0.0) + float(v)
        except ValueError:
            pass
    return vals


def proc_cpu(pid):
    try:
        with open("/proc/%s/stat" % pid) as f:
            parts = f.read().rsplit(")", 1)[1].split()
        return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def rss(pid):
    try:
        with open("/proc/%s/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def dir_bytes(path):
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.path.getsize(os.path.join(root, f))
            except OSError:
                pass
    return total


def wait_series(base, metric, minimum, timeout):
    deadline = time.time() + timeout
    n = 0
    while time.time() < deadline:
        try:
            n = metrics(base).get(metric, 0)
            if n >= minimum:
                print("%s: %s %d >= %d" % (base, metric, n, minimum)); return 0
        except OSError:
            pass
        time.sleep(1)
    print("timeout: %s %s %d < %d" % (base, metric, n, minimum)); return 1


def measure(duration, out, prom_url, prom_pid, prom_data, wk_url, wk_pid, wk_data, exporters):
    sysd = {"prom": (prom_url, prom_pid, PROM, prom_data), "wk": (wk_url, wk_pid, WK, wk_data)}
    s0 = {k: metrics(u) for k, (u, _, _, _) in sysd.items()}
    c0 = {k: proc_cpu(p) for k, (_, p, _, _) in sysd.items()}
    e0 = sum(proc_cpu(p) for p in exporters)
    t0 = time.time()
    rss_max = {k: 0 for k in sysd}
    end = t0 + duration
    while time.time() < end:
        time.sleep(min(2.0, max(0.0, end - time.time())))
        for k, (_, p, _, _) in sysd.items():
            rss_max[k] = max(rss_max[k], rss(p))
    s1 = {k: metrics(u) for k, (u, _, _, _) in sysd.items()}
    c1 = {k: proc_cpu(p) for k, (_, p, _, _) in sysd.items()}
    e1 = sum(proc_cpu(p) for p in exporters)
    dt = time.time() - t0
    res = {"window_s": dt, "exporters_cpu_cores": (e1 - e0) / dt, "load": open("/proc/loadavg").read().split()[:3]}
    for k, (u, p, names, data) in sysd.items():
        ds = s1[k][names["samples"]] - s0[k][names["samples"]]
        dc = c1[k] - c0[k]
        r = rss(p)
        series = s1[k][names["series"]]
        wal = dir_bytes(os.path.join(data, "wal"))
        res[k] = {
            "samples_per_s": ds / dt, "cpu_cores": dc / dt, "cpu_s_per_1M": dc / ds * 1e6 if ds else float("nan"),
            "head_series": series, "rss": r, "rss_max": max(rss_max[k], r), "rss_per_series": r / series if series else float("nan"),
            "samples_total": s1[k][names["samples"]], "wal_bytes": wal,
            "wal_bytes_per_sample": wal / s1[k][names["samples"]] if s1[k][names["samples"]] else float("nan"),
            "data_bytes": dir_bytes(data),
            # Share of the window the collector held the program's threads (NaN when a build does not expose it).
            "gc_pause_share": (s1[k].get(names["gc_pause"], float("nan")) - s0[k].get(names["gc_pause"], float("nan"))) / dt,
        }
    json.dump(res, open(out, "w"), indent=1)
    return 0


def pct(xs, p):
    s = sorted(xs)
    return s[max(0, math.ceil(p / 100 * len(s)) - 1)]


def query(n, out, prom_url, wk_url, token):
    end = time.time()
    targets = {"prom": (prom_url + "/api/v1", None), "wk": (wk_url + "/prometheus/api/v1", token)}
    res = {}
    deadline = time.time() + 600
    only = os.environ.get("QUERY_ONLY", "")
    for label, expr in EXPRS.items():
        if only and only not in label:
            continue
        for kind in ("instant", "range"):
            times = {"prom": [], "wk": []}
            results = {}
            for i in range(n):
                for sysname, (base, tok) in targets.items():
                    if time.time() > deadline:
                        break
                    now = time.time()
                    if kind == "instant":
                        url = base + "/query?" + urllib.parse.urlencode({"query": expr, "time": "%.3f" % now})
                    else:
                        url = base + "/query_range?" + urllib.parse.urlencode(
                            {"query": expr, "start": "%.3f" % (now - 3600), "end": "%.3f" % now, "step": "15"})
                    t = time.perf_counter()
                    try:
                        body = get(url, timeout=60, token=tok)
                        ok = True
                    except Exception as e:  # noqa: BLE001 - record and go on
                        body, ok = str(e).encode(), False
                    times[sysname].append((time.perf_counter() - t) * 1000)
                    if i == n - 1:
                        try:
                            d = json.loads(body)
                            results[sysname] = len(d["data"]["result"]) if ok else "error: " + body.decode()[:200]
                        except Exception:  # noqa: BLE001
                            results[sysname] = "error: " + body.decode()[:200]
            key = "%s %s" % (kind, label)
            res[key] = {s: {"median_ms": statistics.median(v), "p90_ms": pct(v, 90), "n": len(v), "result_series": results.get(s)}
                        for s, v in times.items() if v}
    json.dump(res, open(out, "w"), indent=1)
    return 0


def ratio(a, b):
    return a / b if b else float("nan")


def report(mfile, qfile, ofile=None):
    m = json.load(open(mfile))
    q = json.load(open(qfile)) if qfile and os.path.exists(qfile) else {}
    p, w = m["prom"], m["wk"]
    print("window %.0f s, load %s, exporters' CPU %.3f cores" % (m["window_s"], " ".join(m["load"]), m["exporters_cpu_cores"]))
    print()
    print("| metric | Prometheus 2.42 | Watchkeeper | WK/Prom | target |")
    print("|---|---:|---:|---:|---|")
    rows = [
        ("samples/s ingested", p["samples_per_s"], w["samples_per_s"], "%.0f", None),
        ("CPU cores", p["cpu_cores"], w["cpu_cores"], "%.3f", None),
        ("CPU-s per 1M samples", p["cpu_s_per_1M"], w["cpu_s_per_1M"], "%.2f", "<= 0.8x"),
        ("head series", p["head_series"], w["head_series"], "%.0f", None),
        ("RSS MiB (end / max)", p["rss"] / 2**20, w["rss"] / 2**20, "%.0f", None),
        ("RSS bytes per head series", p["rss_per_series"], w["rss_per_series"], "%.0f", "<= 1.0x"),
        ("WAL bytes per sample (head, live)", p["wal_bytes_per_sample"], w["wal_bytes_per_sample"], "%.2f", None),
        ("GC pause, % of the window", 100 * p.get("gc_pause_share", float("nan")), 100 * w.get("gc_pause_share", float("nan")), "%.3f", None),
    ]
    for name, a, b, fmt, tgt in rows:
        extra = ""
        if name.startswith("RSS MiB"):
            extra = " / %.0f" % (p["rss_max"] / 2**20), " / %.0f" % (w["rss_max"] / 2**20)
            print("| %s | %s%s | %s%s | %.2f | |" % (name, fmt % a, extra[0], fmt % b, extra[1], ratio(b, a)))
            continue
        print("| %s | %s | %s | %.2f | %s |" % (name, fmt % a, fmt % b, ratio(b, a), tgt or ""))
    if ofile and os.path.exists(ofile):
        o = json.load(open(ofile))
        for k in ("blocks_2h", "compacted"):
            if k in o:
                pb = o.get("prom_" + k)
                wb = o[k]
                print("| bytes per sample in blocks (%s, offline) | %s | %.2f | %s | <= 1.3x |" % (
                    k, "%.2f" % pb if pb else "-", wb, "%.2f" % ratio(wb, pb) if pb else "-"))
    if q:
        print()
        calls = max((d.get("wk") or {}).get("n", 0) for d in q.values())
        print("| query (%d calls each, alternating) | Prom median (p90) ms | WK median (p90) ms | WK/Prom median | WK/Prom p90 | series Prom/WK |" % calls)
        print("|---|---:|---:|---:|---:|---|")
        for key, d in q.items():
            a, b = d.get("prom"), d.get("wk")
            if not a or not b:
                continue
            # Two decimals below 10 ms: the small queries differ by hundredths of a millisecond.
            f = lambda x: ("%.2f" if x < 10 else "%.1f") % x
            print("| %s | %s (%s) | %s (%s) | %.2f | %.2f | %s / %s |" % (
                key, f(a["median_ms"]), f(a["p90_ms"]), f(b["median_ms"]), f(b["p90_ms"]),
                ratio(b["median_ms"], a["median_ms"]), ratio(b["p90_ms"], a["p90_ms"]), a["result_series"], b["result_series"]))
    return 0


def main(a):
    if a[0] == "wait-series":
        return wait_series(a[1], a[2], float(a[3]), float(a[4]))
    if a[0] == "measure":
        return measure(float(a[1]), a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9:])
    if a[0] == "query":
        return query(int(a[1]), a[2], a[3], a[4], a[5])
    if a[0] == "report":
        return report(a[1], a[2], a[3] if len(a) > 3 else None)
    print(__doc__); return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
