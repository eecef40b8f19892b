using System.Diagnostics;
using System.Globalization;
using Watchkeeper.Metrics.PromQL;
using Watchkeeper.Metrics.Tsdb;

namespace Watchkeeper.Bench;

/// <summary>
/// `-- dashboard-profile [instances=333] [seconds=1080] [rounds=5]`: the data of bench/dashboards/run.sh (per instance,
/// as synth_exporter.py: 100 http_requests_total counters and 10 histograms of 12 buckets; 333 instances = 36,630
/// counters and 39,960 buckets) sampled every 5 s, then the queries bench-8-panels.json sends for the last 15 minutes
/// (range panels at a 5 s step with <c>$__rate_interval</c> = 20 s, the rest instant), in process, one at a time.
/// Prints per query the median wall time and the median process CPU time of the rounds (CPU time is steadier than wall
/// time on a shared machine), allocated bytes, and the total of the medians.
/// </summary>
internal static class DashboardProfile
{
    public static readonly (string Kind, string Query)[] Queries =
    [
        ("instant", "sum(rate(http_requests_total{status=~\"5..\"}[5m])) / sum(rate(http_requests_total[5m]))"),
        ("range", "sum by (job) (rate(http_requests_total[20s]))"),
        ("range", "histogram_quantile(0.95, sum by (job, le) (rate(http_request_duration_seconds_bucket[20s])))"),
        ("instant", "topk(10, sum by (path) (rate(http_requests_total{status=~\"5..\"}[5m])))"),
        ("range", "sum by (le) (increase(http_request_duration_seconds_bucket[20s]))"),
    ];

    public static void Run(int instances, int seconds, int rounds)
    {
        var dir = Path.Combine(Path.GetTempPath(), "wk-dash-profile-" + Guid.NewGuid().ToString("N"));
        using var db = Tsdb.Open(new TsdbOptions { Directory = dir, WalSync = WalSyncMode.Never, Retention = TimeSpan.Zero });
        try
        {
            var t0 = 1_767_225_600_000L;
            var (labels, rates) = QueryProfile.Build(instances);
            var vals = new double[labels.Length];
            var sw = Stopwatch.StartNew();
            var samples = seconds / 5;
            for (var k = 0; k < samples; k++)
            {
                var app = db.Appender();
                var t = t0 + k * 5000L;
                for (var i = 0; i < labels.Length; i++)
                {
                    vals[i] += rates[i] * 5;
                    app.Append(labels[i], t, vals[i]);
                }
                app.Commit();
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"loaded {labels.Length} series x {samples} samples (5 s apart) in {sw.Elapsed.TotalSeconds:F1} s; load {File.ReadAllText("/proc/loadavg").Split(' ')[0]}"));
            var end = t0 + (samples - 1) * 5000L;
            var engine = new Engine();
            double wallTotal = 0, cpuTotal = 0;
            foreach (var (kind, q) in Queries)
            {
                if (Environment.GetEnvironmentVariable("QP_ONLY") is { } only && !q.Contains(only, StringComparison.Ordinal)) continue;
                var wall = new List<double>();
                var cpu = new List<double>();
                long alloc = 0;
                var n = 0;
                for (var i = 0; i < rounds; i++)
                {
                    var a0 = GC.GetAllocatedBytesForCurrentThread();
                    var c0 = Process.GetCurrentProcess().TotalProcessorTime;
                    var w = Stopwatch.StartNew();
                    var r = kind == "range" ? engine.Range(db, q, end - 900_000, end, 5000) : engine.Instant(db, q, end);
                    wall.Add(w.Elapsed.TotalMilliseconds);
                    cpu.Add((Process.GetCurrentProcess().TotalProcessorTime - c0).TotalMilliseconds);
                    alloc = GC.GetAllocatedBytesForCurrentThread() - a0;
                    n = r.Value switch { VectorResult v => v.Samples.Count, MatrixResult m => m.Series.Count, _ => -1 };
                }
                wall.Sort();
                cpu.Sort();
                wallTotal += wall[rounds / 2];
                cpuTotal += cpu[rounds / 2];
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{kind,-7} {q,-100} wall {wall[rounds / 2],8:F1} ms  cpu {cpu[rounds / 2],8:F1} ms  {alloc / 1048576.0,8:F1} MiB  {n} series"));
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"total of medians: wall {wallTotal:F0} ms, cpu {cpuTotal:F0} ms; load {File.ReadAllText("/proc/loadavg").Split(' ')[0]}"));
        }
        finally
        {
            db.Dispose();
            Directory.Delete(dir, recursive: true);
        }
    }
}
