using System.Diagnostics;
using System.Globalization;
using Watchkeeper.Metrics.Model;
using Watchkeeper.Metrics.PromQL;
using Watchkeeper.Metrics.Tsdb;

namespace Watchkeeper.Bench;

/// <summary>
/// `-- query-profile [instances] [seconds]`: the side-by-side bench's data shape in one process, without HTTP. Per
/// instance (as synth_exporter.py): 100 http_requests_total counters and 10 histograms of 12 buckets, sampled every
/// second for the given number of seconds (default 333 instances, 300 s: 36,630 counters, 39,960 buckets). Then each
/// of the bench's queries runs as an instant query and as a 1 h / 15 s range query ending at the last sample, five
/// times each; the median wall time and the allocated bytes are printed. For profiling the engine, not a peer ratio.
/// </summary>
internal static class QueryProfile
{
    public static void Run(int instances, int seconds)
    {
        var dir = Path.Combine(Path.GetTempPath(), "wk-query-profile-" + Guid.NewGuid().ToString("N"));
        using var db = Tsdb.Open(new TsdbOptions { Directory = dir, WalSync = WalSyncMode.Never, Retention = TimeSpan.Zero });
        try
        {
            var t0 = 1_767_225_600_000L;
            var (labels, rates) = Build(instances);
            var vals = new double[labels.Length];
            var sw = Stopwatch.StartNew();
            for (var k = 0; k < seconds; k++)
            {
                var app = db.Appender();
                var t = t0 + k * 1000L;
                for (var i = 0; i < labels.Length; i++)
                {
                    vals[i] += rates[i];
                    app.Append(labels[i], t, vals[i]);
                }
                app.Commit();
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"loaded {labels.Length} series x {seconds} samples in {sw.Elapsed.TotalSeconds:F1} s"));
            var end = t0 + (seconds - 1) * 1000L;
            var engine = new Engine();
            string[] queries =
            [
                "up == 0",
                "rate(http_requests_total{status=~\"5..\"}[5m]) > 0.1",
                "histogram_quantile(0.95, rate(http_request_duration_seconds_bucket[5m])) > 0.5",
            ];
            var bucket = new[] { new LabelMatcher(MatchOp.Equal, "__name__", "http_request_duration_seconds_bucket") };
            Measure("select buckets 5m", () => db.Select(end - 300_000 + 1, end, bucket).Count());
            Measure("select buckets 1h5m", () => db.Select(end - 3_900_000 + 1, end, bucket).Count());
            foreach (var q in queries)
            {
                // Parsed once, as a rule holds its expression.
                var parsed = Parser.Parse(q);
                Measure("instant " + q, () => Count(engine.Instant(db, parsed, end)));
                Measure("range   " + q, () => Count(engine.Range(db, q, end - 3_600_000, end, 15_000)));
            }
        }
        finally
        {
            db.Dispose();
            Directory.Delete(dir, recursive: true);
        }
    }

    private static readonly string? Only = Environment.GetEnvironmentVariable("QP_ONLY");

    /// <summary>QP_REPEAT: runs per query (default 5; more to attach a profiler or to average under load).</summary>
    private static readonly int Repeat = int.TryParse(Environment.GetEnvironmentVariable("QP_REPEAT"), out var r) && r >= 5 ? r : 5;

    private static void Measure(string name, Func<int> run)
    {
        if (Only is not null && !name.Contains(Only, StringComparison.Ordinal)) return;
        var times = new List<double>();
        long alloc = 0;
        var n = 0;
        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        for (var i = 0; i < Repeat; i++)
        {
            var a0 = GC.GetAllocatedBytesForCurrentThread();
            var sw = Stopwatch.StartNew();
            n = run();
            times.Add(sw.Elapsed.TotalMilliseconds);
            alloc = GC.GetAllocatedBytesForCurrentThread() - a0;
        }
        var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalMilliseconds / Repeat;
        times.Sort();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{name,-90} {times[times.Count / 2],9:F1} ms (min {times[0]:F1}, CPU {cpu:F1} ms/run)  {alloc / 1048576.0,8:F1} MiB  {n} series"));
    }

    internal static (Labels[] Labels, double[] Rates) Build(int instances)
    {
        string[] methods = ["GET", "POST", "PUT", "DELETE"];
        string[] statuses = ["200", "201", "404", "500", "503"];
        string[] paths = ["/api/v1/users", "/api/v1/orders", "/api/v1/items", "/healthz", "/login"];
        string[] le = ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"];
        double[] fast = [0.20, 0.40, 0.60, 0.75, 0.90, 0.97, 0.99, 0.999, 1, 1, 1, 1];
        double[] slow = [0.01, 0.02, 0.05, 0.10, 0.20, 0.40, 0.60, 0.85, 0.97, 0.99, 1, 1];
        var rnd = new Random(7);
        var labels = new List<Labels>();
        var rates = new List<double>();
        for (var i = 0; i < instances; i++)
        {
            var job = i % 2 == 0 ? "api-service" : "web-interface";
            var inst = job + "-" + i + ":8080";
            foreach (var m in methods)
                foreach (var s in statuses)
                    foreach (var p in paths)
                    {
                        labels.Add(Labels.Of("__name__", "http_requests_total", "instance", inst, "job", job, "method", m, "path", p, "status", s));
                        rates.Add(s[0] == '5' ? (rnd.Next(3) switch { 0 => 0.01, 1 => 0.05, _ => 1.5 }) : 0.1 + rnd.NextDouble() * 20);
                    }
            foreach (var m in new[] { "GET", "POST" })
                foreach (var p in paths)
                {
                    var prof = rnd.NextDouble() < 0.05 ? slow : fast;
                    var r = 0.5 + rnd.NextDouble() * 30;
                    for (var b = 0; b < le.Length; b++)
                    {
                        labels.Add(Labels.Of("__name__", "http_request_duration_seconds_bucket", "instance", inst, "job", job, "le", le[b], "method", m, "path", p));
                        rates.Add(r * prof[b]);
                    }
                }
        }
        return ([.. labels], [.. rates]);
    }

    private static int Count(QueryResult r) => r.Value switch
    {
        VectorResult v => v.Samples.Count,
        MatrixResult m => m.Series.Count,
        _ => -1,
    };
}
