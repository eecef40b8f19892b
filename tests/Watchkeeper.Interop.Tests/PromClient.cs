using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Watchkeeper.Interop.Tests;

/// <summary>One series of a query result: its labels and its points (one for a vector, many for a matrix).</summary>
public sealed record ResultSeries(SortedDictionary<string, string> Metric, List<(double T, double V)> Points)
{
    public string Key => LabelsKey(Metric);

    public static string LabelsKey(IEnumerable<KeyValuePair<string, string>> labels) =>
        "{" + string.Join(", ", labels.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={JsonSerializer.Serialize(kv.Value)}")) + "}";
}

/// <summary>A decoded query result: its type (vector, matrix, scalar, string) and series (a scalar is one series without labels).</summary>
public sealed record QueryResult(string Type, List<ResultSeries> Series, string Raw)
{
    /// <summary>The same result without the label <paramref name="name"/> (e.g. the external label a remote write added).</summary>
    public QueryResult Without(string name) =>
        this with { Series = [.. Series.Select(s => s with { Metric = new SortedDictionary<string, string>(s.Metric.Where(kv => kv.Key != name).ToDictionary(), StringComparer.Ordinal) })] };
}

/// <summary>An error answer of the API: its HTTP status and Prometheus errorType.</summary>
public sealed class PromApiException(string message, int status, string? errorType) : HttpRequestException(message)
{
    public int Status { get; } = status;
    public string? ErrorType { get; } = errorType;
}

/// <summary>A client of the Prometheus HTTP API (Prometheus itself, or Watchkeeper under /prometheus).</summary>
public sealed class PromClient(Uri apiBase, string? bearer = null) : IDisposable
{
    private readonly HttpClient _http = Create(bearer);

    private static HttpClient Create(string? bearer)
    {
        var c = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        if (bearer is not null) c.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        return c;
    }

    public string Name { get; init; } = apiBase.ToString();

    public static string Time(double unixSeconds) => unixSeconds.ToString("0.###", CultureInfo.InvariantCulture);

    public Task<QueryResult> InstantAsync(string query, double time) =>
        GetAsync("api/v1/query", [("query", query), ("time", Time(time))]);

    public Task<QueryResult> RangeAsync(string query, double start, double end, double step) =>
        GetAsync("api/v1/query_range", [("query", query), ("start", Time(start)), ("end", Time(end)), ("step", Time(step))]);

    /// <summary>The raw JSON of any GET under the API base (series, labels, ...).</summary>
    public async Task<JsonElement> GetJsonAsync(string path, IEnumerable<(string, string)> args)
    {
        var url = Url(path, args);
        using var r = await _http.GetAsync(url);
        var body = await r.Content.ReadAsStringAsync();
        if (!r.IsSuccessStatusCode) throw new HttpRequestException($"{Name}: GET {url} -> {(int)r.StatusCode}: {body}");
        var doc = JsonDocument.Parse(body).RootElement.Clone();
        Assert.Equal("success", doc.GetProperty("status").GetString());
        return doc.GetProperty("data");
    }

    private Uri Url(string path, IEnumerable<(string Name, string Value)> args)
    {
        var sb = new StringBuilder(apiBase.ToString().TrimEnd('/')).Append('/').Append(path).Append('?');
        foreach (var (n, v) in args) sb.Append(Uri.EscapeDataString(n)).Append('=').Append(Uri.EscapeDataString(v)).Append('&');
        return new Uri(sb.ToString().TrimEnd('&', '?'));
    }

    /// <summary>POSTs the parameters as a form, as Grafana and promtool do (queries can be longer than a request line).</summary>
    private async Task<QueryResult> GetAsync(string path, IEnumerable<(string Name, string Value)> args)
    {
        var url = new Uri(apiBase.ToString().TrimEnd('/') + "/" + path);
        using var form = new FormUrlEncodedContent(args.Select(a => KeyValuePair.Create(a.Name, a.Value)));
        using var r = await _http.PostAsync(url, form);
        var body = await r.Content.ReadAsStringAsync();
        if (!r.IsSuccessStatusCode)
        {
            string? type = null;
            try
            {
                type = JsonDocument.Parse(body).RootElement.GetProperty("errorType").GetString();
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
            {
            }
            throw new PromApiException($"{Name}: POST {url} {string.Join("&", args.Select(a => a.Name + "=" + a.Value))} -> {(int)r.StatusCode}: {body}",
                (int)r.StatusCode, type);
        }
        return Parse(body);
    }

    /// <summary>Decodes the JSON envelope of /query and /query_range, checking its shape as Prometheus defines it.</summary>
    public static QueryResult Parse(string body)
    {
        var root = JsonDocument.Parse(body).RootElement;
        Assert.Equal("success", root.GetProperty("status").GetString());
        var data = root.GetProperty("data");
        var type = data.GetProperty("resultType").GetString()!;
        var result = data.GetProperty("result");
        var series = new List<ResultSeries>();
        switch (type)
        {
            case "vector":
                foreach (var e in result.EnumerateArray())
                    series.Add(new ResultSeries(Labels(e.GetProperty("metric")), [Point(e.GetProperty("value"))]));
                break;
            case "matrix":
                foreach (var e in result.EnumerateArray())
                    series.Add(new ResultSeries(Labels(e.GetProperty("metric")), [.. e.GetProperty("values").EnumerateArray().Select(Point)]));
                break;
            case "scalar":
                series.Add(new ResultSeries(new SortedDictionary<string, string>(StringComparer.Ordinal), [Point(result)]));
                break;
            default:
                throw new InvalidOperationException($"unexpected resultType {type}");
        }
        return new QueryResult(type, series, body);
    }

    private static SortedDictionary<string, string> Labels(JsonElement e)
    {
        var d = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in e.EnumerateObject()) d[p.Name] = p.Value.GetString()!;
        return d;
    }

    /// <summary>A [time, "value"] pair: the time a JSON number of seconds, the value a string as Prometheus writes it.</summary>
    private static (double, double) Point(JsonElement e)
    {
        Assert.Equal(JsonValueKind.Array, e.ValueKind);
        Assert.Equal(2, e.GetArrayLength());
        Assert.Equal(JsonValueKind.Number, e[0].ValueKind);
        Assert.Equal(JsonValueKind.String, e[1].ValueKind);
        var s = e[1].GetString()!;
        var v = s switch
        {
            "NaN" => double.NaN,
            "+Inf" => double.PositiveInfinity,
            "-Inf" => double.NegativeInfinity,
            _ => double.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture),
        };
        return (e[0].GetDouble(), v);
    }

    public void Dispose() => _http.Dispose();
}

/// <summary>Compares two query results: same type, same series (by labels), same timestamps, values within a relative error.</summary>
public static class ResultComparer
{
    public static bool Close(double a, double b, double relErr)
    {
        if (double.IsNaN(a) || double.IsNaN(b)) return double.IsNaN(a) && double.IsNaN(b);
        if (double.IsInfinity(a) || double.IsInfinity(b)) return a.Equals(b);
        var diff = Math.Abs(a - b);
        return diff <= relErr * Math.Max(Math.Abs(a), Math.Abs(b)) || diff < 1e-12;
    }

    /// <summary>Differences between <paramref name="expected"/> and <paramref name="actual"/>, at most a few lines each; empty when they agree.</summary>
    public static List<string> Diff(QueryResult expected, QueryResult actual, double relErr = 1e-6)
    {
        var diffs = new List<string>();
        if (expected.Type != actual.Type) diffs.Add($"resultType {expected.Type} != {actual.Type}");
        var e = Index(expected, diffs, "expected");
        var a = Index(actual, diffs, "actual");
        foreach (var k in e.Keys.Except(a.Keys)) diffs.Add($"missing series {k}");
        foreach (var k in a.Keys.Except(e.Keys)) diffs.Add($"extra series {k}");
        foreach (var (k, es) in e)
        {
            if (!a.TryGetValue(k, out var @as)) continue;
            if (es.Points.Count != @as.Points.Count)
            {
                diffs.Add($"{k}: {es.Points.Count} points != {@as.Points.Count} points (expected t={Times(es)}; actual t={Times(@as)})");
                continue;
            }
            for (var i = 0; i < es.Points.Count; i++)
            {
                var (et, ev) = es.Points[i];
                var (at, av) = @as.Points[i];
                if (Math.Abs(et - at) > 0.0005) diffs.Add($"{k}[{i}]: t {et} != {at}");
                else if (!Close(ev, av, relErr)) diffs.Add($"{k} @{et}: {ev.ToString("R", CultureInfo.InvariantCulture)} != {av.ToString("R", CultureInfo.InvariantCulture)}");
            }
        }
        return diffs;
    }

    private static string Times(ResultSeries s) => string.Join(",", s.Points.Take(20).Select(p => p.T.ToString("0.###", CultureInfo.InvariantCulture)));

    private static Dictionary<string, ResultSeries> Index(QueryResult r, List<string> diffs, string side)
    {
        var d = new Dictionary<string, ResultSeries>(StringComparer.Ordinal);
        foreach (var s in r.Series)
            if (!d.TryAdd(s.Key, s)) diffs.Add($"{side}: duplicate series {s.Key}");
        return d;
    }
}
