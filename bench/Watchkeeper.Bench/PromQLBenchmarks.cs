using BenchmarkDotNet.Attributes;
using Watchkeeper.Metrics.Model;
using Watchkeeper.Metrics.PromQL;
using Watchkeeper.Metrics.Tsdb;

namespace Watchkeeper.Bench;

/// <summary>
/// PromQL over 10 000 counter series in a TSDB head (one hour of samples every 15 s, 240 per series):
/// the instant query <c>rate(http_requests_total[5m])</c>, a 5xx-filtered one, and the same rate as a one-hour range
/// query at a 60 s step; plus <c>histogram_quantile(0.95, rate(http_request_duration_seconds_bucket[5m]))</c> over
/// 1 000 histograms of 12 buckets (12 000 more series), instant and as a one-hour range query at a 15 s step (the
/// shape of the seed's SlowP95 rule in a dashboard). Times are per query; allocations include the result.
/// </summary>
[MemoryDiagnoser]
public class PromQLBenchmarks
{
    private Tsdb? _db;
    private string _dir = "";
    private readonly Engine _engine = new();
    private long _end;

    [Params(10_000)]
    public int Series { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _dir = Path.Combine(Path.GetTempPath(), "wk-bench-promql-" + Guid.NewGuid().ToString("N"));
        _db = Tsdb.Open(new TsdbOptions { Directory = _dir, WalSync = WalSyncMode.Never, Retention = TimeSpan.Zero });
        string[] codes = ["200", "201", "404", "500", "503"];
        var labels = new Labels[Series];
        for (var i = 0; i < Series; i++)
            labels[i] = Labels.Of("__name__", "http_requests_total", "job", "api-service", "instance", "api-" + (i / 100) + ":8080",
                "method", i % 2 == 0 ? "GET" : "POST", "status", codes[i % 5], "path", "/api/v1/p" + (i % 100));
        string[] le = ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"];
        var buckets = new Labels[1000 * le.Length];
        for (var h = 0; h < 1000; h++)
            for (var b = 0; b < le.Length; b++)
                buckets[h * le.Length + b] = Labels.Of("__name__", "http_request_duration_seconds_bucket", "job", "api-service",
                    "instance", "api-" + (h / 10) + ":8080", "path", "/api/v1/p" + (h % 10), "le", le[b]);
        var bv = new double[buckets.Length];
        var rnd = new Random(7);
        var v = new double[Series];
        var app = _db.Appender();
        var t0 = 1_767_225_600_000L;
        const int steps = 240;
        for (var k = 0; k < steps; k++)
        {
            var t = t0 + k * 15_000L;
            for (var i = 0; i < Series; i++)
            {
                v[i] += rnd.Next(0, 50);
                app.Append(labels[i], t, v[i]);
            }
            for (var h = 0; h < 1000; h++)
            {
                var n = rnd.Next(0, 100);
                for (var b = 0; b < le.Length; b++)
                {
                    var i = h * le.Length + b;
                    bv[i] += n * (b + 1) / le.Length;
                    app.Append(buckets[i], t, bv[i]);
                }
            }
            app.Commit();
        }
        _end = t0 + (steps - 1) * 15_000L;
        if (Instant() is var got && got != Series) throw new InvalidOperationException($"rate returned {got} series, expected {Series}");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _db?.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Benchmark]
    public int Instant() => Count(_engine.Instant(_db!, "rate(http_requests_total[5m])", _end));

    [Benchmark]
    public int Instant5xxOverThreshold() => Count(_engine.Instant(_db!, "rate(http_requests_total{status=~\"5..\"}[5m]) > 0.1", _end));

    [Benchmark]
    public int Range1h60s() => Count(_engine.Range(_db!, "rate(http_requests_total[5m])", _end - 3_600_000, _end, 60_000));

    [Benchmark]
    public int HistogramQuantileInstant() =>
        Count(_engine.Instant(_db!, "histogram_quantile(0.95, rate(http_request_duration_seconds_bucket[5m]))", _end));

    [Benchmark]
    public int HistogramQuantileRange1h15s() =>
        Count(_engine.Range(_db!, "histogram_quantile(0.95, rate(http_request_duration_seconds_bucket[5m]))", _end - 3_600_000, _end, 15_000));

    private static int Count(QueryResult r) => r.Value switch
    {
        VectorResult v => v.Samples.Count,
        MatrixResult m => m.Series.Count,
        _ => -1,
    };
}
