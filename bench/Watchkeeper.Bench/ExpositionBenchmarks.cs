using System.Globalization;
using System.Text;
using BenchmarkDotNet.Attributes;
using Watchkeeper.Metrics.Exposition;

namespace Watchkeeper.Bench;

/// <summary>
/// Parsing one scrape body in the text format 0.0.4: 10 000 series shaped like a busy web service (request counters
/// with five labels, latency histograms, node-style gauges), with HELP/TYPE lines. <c>Steady</c> reuses the parser
/// and its result the way a scrape loop does (label sets cached from the previous scrape); <c>Cold</c> parses with a
/// fresh parser, the cost of a target's first scrape.
/// </summary>
[MemoryDiagnoser]
public class ExpositionBenchmarks
{
    private byte[] _body = [];
    private readonly ExpositionParser _parser = new();
    private readonly ParseResult _result = new();

    [Params(10_000)]
    public int Series { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _body = Encoding.UTF8.GetBytes(Body(Series, 1_767_225_600));
        _parser.Parse(_body, ExpositionFormat.PrometheusText, _result);
        if (_result.Samples.Count != Series) throw new InvalidOperationException($"expected {Series} samples, parsed {_result.Samples.Count}");
    }

    [Benchmark(OperationsPerInvoke = 10_000)]
    public int Steady()
    {
        _parser.Parse(_body, ExpositionFormat.PrometheusText, _result);
        return _result.Samples.Count;
    }

    [Benchmark(OperationsPerInvoke = 10_000)]
    public int Cold() => new ExpositionParser().Parse(_body, ExpositionFormat.PrometheusText).Samples.Count;

    /// <summary>Bytes of the body, for per-MB figures.</summary>
    public int BodyBytes => _body.Length;

    /// <summary>A deterministic body with exactly <paramref name="series"/> samples at time <paramref name="t"/> (seconds).</summary>
    public static string Body(int series, double t)
    {
        var sb = new StringBuilder(series * 110);
        var inv = CultureInfo.InvariantCulture;
        string[] methods = ["GET", "POST", "PUT", "DELETE"];
        string[] codes = ["200", "201", "404", "500", "503"];
        string[] paths = ["/api/v1/users", "/api/v1/orders", "/api/v1/items", "/healthz", "/login"];
        string[] le = ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"];
        // Per instance: 100 counters, 2 x 5 histograms of 14 series (140), 60 gauges = 300; families grouped.
        var instances = (series + 299) / 300;
        var n = 0;
        string Lbl(int inst) => $"job=\"api-service\",instance=\"api-{inst}:8080\"";
        sb.Append("# HELP http_requests_total Total HTTP requests.\n# TYPE http_requests_total counter\n");
        for (var inst = 0; inst < instances; inst++)
            foreach (var m in methods)
                foreach (var c in codes)
                    foreach (var p in paths)
                    {
                        if (n >= series) break;
                        sb.Append("http_requests_total{").Append(Lbl(inst)).Append(",method=\"").Append(m).Append("\",status=\"").Append(c)
                            .Append("\",path=\"").Append(p).Append("\"} ").Append(((long)(1000 + n * 7 + t * (1 + n % 13))).ToString(inv)).Append('\n');
                        n++;
                    }
        sb.Append("# HELP http_request_duration_seconds HTTP request latency.\n# TYPE http_request_duration_seconds histogram\n");
        for (var inst = 0; inst < instances; inst++)
            foreach (var m in methods[..2])
                foreach (var p in paths)
                {
                    var lbl = Lbl(inst);
                    var count = (long)(500 + t * (1 + n % 7));
                    for (var i = 0; i < le.Length && n < series; i++, n++)
                        sb.Append("http_request_duration_seconds_bucket{").Append(lbl).Append(",method=\"").Append(m).Append("\",path=\"").Append(p)
                            .Append("\",le=\"").Append(le[i]).Append("\"} ").Append((count * (i + 1) / le.Length).ToString(inv)).Append('\n');
                    if (n < series) { sb.Append("http_request_duration_seconds_sum{").Append(lbl).Append(",method=\"").Append(m).Append("\",path=\"").Append(p).Append("\"} ").Append((count * 0.08).ToString("F3", inv)).Append('\n'); n++; }
                    if (n < series) { sb.Append("http_request_duration_seconds_count{").Append(lbl).Append(",method=\"").Append(m).Append("\",path=\"").Append(p).Append("\"} ").Append(count.ToString(inv)).Append('\n'); n++; }
                }
        sb.Append("# HELP node_memory_bytes Memory information field.\n# TYPE node_memory_bytes gauge\n");
        for (var inst = 0; n < series; inst++)
            for (var i = 0; i < 60 && n < series; i++, n++)
                sb.Append("node_memory_bytes{").Append(Lbl(inst)).Append(",field=\"f").Append(i.ToString(inv)).Append("\"} ")
                    .Append((1e9 + i * 12345.678 + Math.Sin(t / 20 + i) * 1e6).ToString("G6", inv)).Append('\n');
        return sb.ToString();
    }
}
