using System.Globalization;
using System.Text;
using System.Text.Json;
using Watchkeeper.Metrics.Model;
using Watchkeeper.Metrics.PromQL;
using Watchkeeper.Metrics.Scrape;

namespace Watchkeeper.Metrics.Rules;

/// <summary>
/// Rules read from an external Prometheus-compatible query API (Prometheus, VictoriaMetrics, Mimir, Thanos) as vmalert
/// and the Mimir ruler do: instant queries on <c>{base}/api/v1/query</c> with basic or bearer authentication. Raw
/// samples for the <c>for</c> restore come from a range selector query (stale markers are not visible that way).
/// </summary>
public sealed class PrometheusQueryClient(Uri baseUrl, HttpClientConfig http, TimeSpan timeout, HttpMessageHandler? handler = null) : IRuleQuerier, IDisposable
{
    /// <summary>The largest response body read (a rule result larger than this is an error).</summary>
    public const int MaxResponseBytes = 64 << 20;

    private readonly HttpClient _client = new(handler ?? HttpClientFactory.CreateHandler(http), disposeHandler: handler is null) { Timeout = timeout };
    private readonly string _base = baseUrl.ToString().TrimEnd('/');

    public async ValueTask<QueryValue> QueryAsync(string query, Expr? parsed, long timeMs, CancellationToken ct)
    {
        var body = new FormUrlEncodedContent([new("query", query), new("time", Seconds(timeMs))]);
        using var req = new HttpRequestMessage(HttpMethod.Post, _base + "/api/v1/query") { Content = body };
        HttpClientFactory.ApplyAuth(req, http);
        using var resp = await _client.SendAsync(req, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        if (resp.Content.Headers.ContentLength > MaxResponseBytes) throw new RuleQueryException($"query response larger than {MaxResponseBytes} bytes");
        await using var stream = await resp.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
        using var limited = new MemoryStream();
        var buf = new byte[81920];
        int n;
        while ((n = await stream.ReadAsync(buf, ct).ConfigureAwait(false)) > 0)
        {
            if (limited.Length + n > MaxResponseBytes) throw new RuleQueryException($"query response larger than {MaxResponseBytes} bytes");
            await limited.WriteAsync(buf.AsMemory(0, n), ct).ConfigureAwait(false);
        }
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(limited.ToArray());
        }
        catch (JsonException)
        {
            throw new RuleQueryException($"query source answered {(int)resp.StatusCode} without a Prometheus API body");
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("status", out var status))
                throw new RuleQueryException($"query source answered {(int)resp.StatusCode} without a Prometheus API body");
            if (status.GetString() != "success")
            {
                var type = root.TryGetProperty("errorType", out var t) ? t.GetString() : "";
                var err = root.TryGetProperty("error", out var e) ? e.GetString() : "";
                throw new RuleQueryException($"query source: {type}: {err}");
            }
            return ParseData(root.GetProperty("data"));
        }
    }

    public async ValueTask<IReadOnlyList<SeriesSamples>> SelectAsync(IReadOnlyList<LabelMatcher> matchers, long minT, long maxT, CancellationToken ct)
    {
        var sb = new StringBuilder("{");
        for (var i = 0; i < matchers.Count; i++)
        {
            if (i > 0) sb.Append(',');
            sb.Append(matchers[i]);
        }
        sb.Append("}[").Append(Math.Max(1, (maxT - minT) / 1000).ToString(CultureInfo.InvariantCulture)).Append("s]");
        var v = await QueryAsync(sb.ToString(), null, maxT, ct).ConfigureAwait(false);
        return v is MatrixResult m ? [.. m.Series.Select(s => new SeriesSamples(s.Labels, s.Floats))] : [];
    }

    internal static QueryValue ParseData(JsonElement data)
    {
        var type = data.GetProperty("resultType").GetString();
        var result = data.GetProperty("result");
        switch (type)
        {
            case "scalar":
                var (t, v) = Point(result);
                return new ScalarResult(t, v);
            case "string":
                return new StringResult((long)(result[0].GetDouble() * 1000), result[1].GetString() ?? "");
            case "vector":
                var samples = new List<VectorSample>(result.GetArrayLength());
                foreach (var e in result.EnumerateArray())
                {
                    if (!e.TryGetProperty("value", out var value)) continue; // native histograms are not used by rules here
                    var (st, sv) = Point(value);
                    samples.Add(new VectorSample(Metric(e), st, sv));
                }
                return new VectorResult(samples);
            case "matrix":
                var series = new List<MatrixSeries>(result.GetArrayLength());
                foreach (var e in result.EnumerateArray())
                {
                    var points = new List<Sample>();
                    if (e.TryGetProperty("values", out var values))
                        foreach (var p in values.EnumerateArray())
                        {
                            var (pt, pv) = Point(p);
                            points.Add(new Sample(pt, pv));
                        }
                    series.Add(new MatrixSeries(Metric(e), points, []));
                }
                return new MatrixResult(series);
            default:
                throw new RuleQueryException($"query source answered an unknown result type \"{type}\"");
        }
    }

    private static Labels Metric(JsonElement e)
    {
        var list = new List<Label>();
        if (e.TryGetProperty("metric", out var m))
            foreach (var p in m.EnumerateObject()) list.Add(new Label(p.Name, p.Value.GetString() ?? ""));
        return Labels.From(list);
    }

    private static (long T, double V) Point(JsonElement p)
    {
        var t = (long)Math.Round(p[0].GetDouble() * 1000);
        var s = p[1].GetString() ?? "";
        var v = s switch
        {
            "NaN" => double.NaN,
            "+Inf" or "Inf" => double.PositiveInfinity,
            "-Inf" => double.NegativeInfinity,
            _ => double.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture),
        };
        return (t, v);
    }

    private static string Seconds(long ms) => (ms / 1000.0).ToString("0.###", CultureInfo.InvariantCulture);

    public void Dispose() => _client.Dispose();
}
