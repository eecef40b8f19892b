#!/usr/bin/env python3
"""Writes the synthetic exporter's series over simulated time as one OpenMetrics file with timestamps, the input
for the offline bytes-per-sample comparison (blocks.sh): promtool builds Prometheus blocks from it and
`Watchkeeper.Bench tsdb-import` builds Watchkeeper blocks from the very same samples.

  gen_openmetrics.py PEERS_DIR OUT SERIES HOURS STEP_S JITTER_MS END_UNIX_S

The exporter module is imported from PEERS_DIR (the shared harness), not copied. Its render() computes values from
(wall time - t0); t0 is moved so each render sees the simulated time. Scrape timestamps get +-JITTER_MS of uniform
jitter, as real scrapes do. No TYPE/HELP lines (all series are 'unknown'), so both importers accept every sample.
"""
import importlib.util, os, random, sys, time


def main(peers, out, series, hours, step, jitter_ms, end_s):
    spec = importlib.util.spec_from_file_location("synth_exporter", os.path.join(peers, "synth_exporter.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    st = mod.State(mod.build(series, "api-service", "p0", 0))
    n = int(hours * 3600 // step)
    start = end_s - n * step
    rnd = random.Random(1)
    values = {}
    stamps = []
    for k in range(n):
        sim = k * step
        st.t0 = time.time() - sim
        body = st.render().decode()
        ts_ms = int((start + sim) * 1000) + (rnd.randint(-jitter_ms, jitter_ms) if jitter_ms else 0)
        stamps.append(ts_ms)
        for line in body.splitlines():
            if not line or line[0] == "#":
                continue
            key, _, v = line.rpartition(" ")
            values.setdefault(key, []).append(v)
    with open(out, "w") as f:
        for key, vs in values.items():
            f.writelines("%s %s %d.%03d\n" % (key, v, t // 1000, t % 1000) for v, t in zip(vs, stamps))
        f.write("# EOF\n")
    print("wrote %s: %d series x %d samples = %d samples, %d bytes" % (out, len(values), n, len(values) * n, os.path.getsize(out)))


if __name__ == "__main__":
    a = sys.argv[1:]
    if len(a) != 7:
        print(__doc__); sys.exit(2)
    main(a[0], a[1], int(a[2]), float(a[3]), int(a[4]), int(a[5]), int(a[6]))
