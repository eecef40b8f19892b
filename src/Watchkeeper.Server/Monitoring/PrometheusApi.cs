using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Primitives;
using Watchkeeper.Metrics.Exposition;
using Watchkeeper.Metrics.Model;
using Watchkeeper.Metrics.PromQL;
using Watchkeeper.Metrics.Scrape;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Monitoring;

/// <summary>
/// The Prometheus HTTP API under <c>/prometheus/api/v1/</c>, with Prometheus's JSON envelope
/// (<c>status</c>, <c>data</c>, <c>errorType</c>, <c>error</c>, <c>warnings</c>) in its GET and form-POST forms,
/// so Grafana and promtool work against Watchkeeper unchanged.
/// </summary>
public static class PrometheusApi
{
    private sealed class ApiError(string type, int status, string message) : Exception(message)
    {
        public string Type { get; } = type;
        public int Status { get; } = status;
    }

    public static void MapPrometheusApi(this WebApplication app)
    {
        var g = app.MapGroup("/prometheus/api/v1").WithTags("prometheus").RequireAuthorization(Policies.Viewer).DisableAntiforgery();
        foreach (var method in new[] { "GET", "POST" })
        {
            g.MapMethods("/query", [method], (HttpContext ctx, MetricsRuntime m, TimeProvider time) => Run(ctx, w => Query(ctx, w, m, time)));
            g.MapMethods("/query_range", [method], (HttpContext ctx, MetricsRuntime m) => Run(ctx, w => QueryRange(ctx, w, m)));
            g.MapMethods("/series", [method], (HttpContext ctx, MetricsRuntime m, TimeProvider time) => Run(ctx, w => Series(ctx, w, m, time)));
            g.MapMethods("/labels", [method], (HttpContext ctx, MetricsRuntime m, TimeProvider time) => Run(ctx, w => LabelNames(ctx, w, m, time)));
        }
        g.MapGet("/label/{name}/values", (HttpContext ctx, string name, MetricsRuntime m, TimeProvider time) => Run(ctx, w => LabelValues(ctx, w, name, m, time)));
        g.MapGet("/metadata", (HttpContext ctx, MetricsRuntime m) => Run(ctx, w => Metadata(ctx, w, m)));
        g.MapGet("/targets", (HttpContext ctx, MetricsRuntime m) => Run(ctx, w => Targets(ctx, w, m)));
        g.MapGet("/status/buildinfo", (HttpContext ctx) => Run(ctx, w =>
        {
            w.WriteStartObject();
            w.WriteString("version", "2.42.0");
            w.WriteString("revision", typeof(PrometheusApi).Assembly.GetName().Version?.ToString() ?? "dev");
            w.WriteString("branch", "watchkeeper");
            w.WriteString("buildUser", "watchkeeper");
            w.WriteString("buildDate", "");
            w.WriteString("goVersion", "dotnet" + Environment.Version);
            w.WriteEndObject();
            return Task.CompletedTask;
        }));
    }

    /// <summary>
    /// Strings as Prometheus (Go) writes them: UTF-8 as is and <c>\"</c> for quotes, not <c>\u00E9</c> and <c>\u0022</c>
    /// (the response is application/json, never embedded in HTML).
    /// </summary>
    private static readonly JsonWriterOptions JsonOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static async Task Run(HttpContext ctx, Func<Utf8JsonWriter, Task> writeData)
    {
        if (ctx.Request.HasFormContentType) await ctx.Request.ReadFormAsync(ctx.RequestAborted);
        var ms = new MemoryStream();
        var warnings = new List<string>();
        ctx.Items["warnings"] = warnings;
        await using (var w = new Utf8JsonWriter(ms, JsonOptions))
        {
            try
            {
                w.WriteStartObject();
                w.WriteString("status", "success");
                w.WritePropertyName("data");
                await writeData(w);
                if (warnings.Count > 0)
                {
                    w.WriteStartArray("warnings");
                    foreach (var x in warnings) w.WriteStringValue(x);
                    w.WriteEndArray();
                }
                w.WriteEndObject();
            }
            catch (Exception ex) when (ex is ApiError or ParseException or QueryException or ArgumentException)
            {
                await w.DisposeAsync();
                var (type, status, msg) = ex switch
                {
                    ApiError a => (a.Type, a.Status, a.Message),
                    ParseException p => ("bad_data", 400, "invalid parameter \"query\": " + p.Message),
                    QueryException { Kind: QueryErrorKind.Timeout } q => ("timeout", 503, q.Message),
                    QueryException { Kind: QueryErrorKind.Canceled } q => ("canceled", 503, q.Message),
                    QueryException q => ("execution", 422, q.Message),
                    _ => ("bad_data", 400, ex.Message),
                };
                ctx.Response.StatusCode = status;
                ctx.Response.ContentType = "application/json";
                await using var ew = new Utf8JsonWriter(ctx.Response.Body, JsonOptions);
                ew.WriteStartObject();
                ew.WriteString("status", "error");
                ew.WriteString("errorType", type);
                ew.WriteString("error", msg);
                ew.WriteEndObject();
                return;
            }
        }
        // With a Content-Length Kestrel sends headers and body in one write instead of chunked framing.
        ctx.Response.ContentType = "application/json";
        ctx.Response.ContentLength = ms.Length;
        await ctx.Response.Body.WriteAsync(ms.GetBuffer().AsMemory(0, (int)ms.Length), ctx.RequestAborted);
    }

    private static StringValues Param(HttpContext ctx, string name)
    {
        if (ctx.Request.HasFormContentType && ctx.Request.Form.TryGetValue(name, out var f) && f.Count > 0) return f;
        return ctx.Request.Query[name];
    }

    private static string? One(HttpContext ctx, string name)
    {
        var v = Param(ctx, name);
        return v.Count == 0 || string.IsNullOrEmpty(v[0]) ? null : v[0];
    }

    /// <summary>Parses an RFC 3339 time or a Unix timestamp in (fractional) seconds, as Prometheus does.</summary>
    public static long ParseTime(string s, string param)
    {
        if (double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var sec))
        {
            if (double.IsNaN(sec) || double.IsInfinity(sec)) throw new ApiError("bad_data", 400, $"invalid parameter \"{param}\": cannot parse \"{s}\" to a valid timestamp");
            return (long)Math.Round(sec * 1000);
        }
        if (DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t)) return t.ToUnixTimeMilliseconds();
        throw new ApiError("bad_data", 400, $"invalid parameter \"{param}\": cannot parse \"{s}\" to a valid timestamp");
    }

    private static long ParseDurationMs(string s, string param)
    {
        if (double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var sec))
        {
            if (sec <= 0 || double.IsNaN(sec) || double.IsInfinity(sec)) throw new ApiError("bad_data", 400, $"invalid parameter \"{param}\": cannot parse \"{s}\" to a valid duration");
            return (long)Math.Round(sec * 1000);
        }
        try
        {
            return Parser.ParseDuration(s);
        }
        catch (ParseException)
        {
            throw new ApiError("bad_data", 400, $"invalid parameter \"{param}\": cannot parse \"{s}\" to a valid duration");
        }
    }

    private static CancellationToken Timeout(HttpContext ctx, out CancellationTokenSource cts)
    {
        cts = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted);
        if (One(ctx, "timeout") is { } t) cts.CancelAfter(TimeSpan.FromMilliseconds(ParseDurationMs(t, "timeout")));
        return cts.Token;
    }

    private static Task Query(HttpContext ctx, Utf8JsonWriter w, MetricsRuntime m, TimeProvider time)
    {
        var q = One(ctx, "query") ?? throw new ApiError("bad_data", 400, "invalid parameter \"query\": query is required");
        var t = One(ctx, "time") is { } ts ? ParseTime(ts, "time") : time.GetUtcNow().ToUnixTimeMilliseconds();
        var ct = Timeout(ctx, out var cts);
        using (cts)
        {
            var r = m.Engine.Instant(m.Querier, q, t, ct);
            WriteResult(w, r.Value, t);
            AddWarnings(ctx, r);
        }
        return Task.CompletedTask;
    }

    private static Task QueryRange(HttpContext ctx, Utf8JsonWriter w, MetricsRuntime m)
    {
        var q = One(ctx, "query") ?? throw new ApiError("bad_data", 400, "invalid parameter \"query\": query is required");
        var start = ParseTime(One(ctx, "start") ?? throw new ApiError("bad_data", 400, "invalid parameter \"start\": start is required"), "start");
        var end = ParseTime(One(ctx, "end") ?? throw new ApiError("bad_data", 400, "invalid parameter \"end\": end is required"), "end");
        var step = ParseDurationMs(One(ctx, "step") ?? throw new ApiError("bad_data", 400, "invalid parameter \"step\": step is required"), "step");
        if (end < start) throw new ApiError("bad_data", 400, "end timestamp must not be before start time");
        if ((end - start) / step > 11_000)
            throw new ApiError("bad_data", 400, "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)");
        var expr = Parser.Parse(q);
        // As Prometheus's API: a range query of a range vector or string is bad data (400), not an execution error.
        if (expr.Type is not (ValueKind.Scalar or ValueKind.Vector))
        {
            throw new ApiError("bad_data", 400,
                $"invalid expression type \"{(expr.Type == ValueKind.Matrix ? "range vector" : "string")}\" for range query, must be Scalar or instant Vector");
        }
        var ct = Timeout(ctx, out var cts);
        using (cts)
        {
            var r = m.Engine.Range(m.Querier, expr, start, end, step, ct);
            WriteResult(w, r.Value, end);
            AddWarnings(ctx, r);
        }
        return Task.CompletedTask;
    }

    /// <summary>
    /// The <c>/query</c> (or, with <paramref name="range"/>, <c>/query_range</c>) handler on a request built in process:
    /// the start-up warm-up (<see cref="QueryWarmup"/>) runs the query path through it without HTTP or credentials.
    /// </summary>
    internal static Task HandleQueryAsync(HttpContext ctx, MetricsRuntime m, TimeProvider time, bool range) =>
        range ? Run(ctx, w => QueryRange(ctx, w, m)) : Run(ctx, w => Query(ctx, w, m, time));

    private static void AddWarnings(HttpContext ctx, QueryResult r)
    {
        if (ctx.Items["warnings"] is List<string> list)
        {
            list.AddRange(r.Warnings);
        }
    }

    private static (long Start, long End) Range(HttpContext ctx, TimeProvider time)
    {
        var start = One(ctx, "start") is { } s ? ParseTime(s, "start") : long.MinValue / 2;
        var end = One(ctx, "end") is { } e ? ParseTime(e, "end") : long.MaxValue / 2;
        if (end < start) throw new ApiError("bad_data", 400, "invalid parameter \"end\": end timestamp must not be before start time");
        return (start, end);
    }

    private static List<IReadOnlyList<LabelMatcher>> MatcherSets(HttpContext ctx, bool required)
    {
        var sets = new List<IReadOnlyList<LabelMatcher>>();
        foreach (var raw in Param(ctx, "match[]"))
        {
            if (string.IsNullOrEmpty(raw)) continue;
            try
            {
                var sel = Parser.ParseSelector(raw);
                sets.Add(sel.Matchers);
            }
            catch (ParseException p)
            {
                throw new ApiError("bad_data", 400, $"invalid parameter \"match[]\": {p.Message}");
            }
        }
        if (required && sets.Count == 0) throw new ApiError("bad_data", 400, "no match[] parameter provided");
        return sets;
    }

    private static Task Series(HttpContext ctx, Utf8JsonWriter w, MetricsRuntime m, TimeProvider time)
    {
        var sets = MatcherSets(ctx, required: true);
        var (start, end) = Range(ctx, time);
        var seen = new HashSet<Labels>();
        var all = new List<Labels>();
        foreach (var set in sets)
            foreach (var s in m.Querier.Select(start, end, set))
                if (seen.Add(s.Labels)) all.Add(s.Labels);
        all.Sort();
        w.WriteStartArray();
        foreach (var l in all) WriteLabels(w, l);
        w.WriteEndArray();
        return Task.CompletedTask;
    }

    private static Task LabelNames(HttpContext ctx, Utf8JsonWriter w, MetricsRuntime m, TimeProvider time)
    {
        var sets = MatcherSets(ctx, required: false);
        var (start, end) = Range(ctx, time);
        var names = new SortedSet<string>(StringComparer.Ordinal);
        if (sets.Count == 0) names.UnionWith(m.Querier.LabelNames(start, end, []));
        foreach (var set in sets) names.UnionWith(m.Querier.LabelNames(start, end, set));
        w.WriteStartArray();
        foreach (var n in names) w.WriteStringValue(n);
        w.WriteEndArray();
        return Task.CompletedTask;
    }

    private static Task LabelValues(HttpContext ctx, Utf8JsonWriter w, string name, MetricsRuntime m, TimeProvider time)
    {
        if (!IsLabelName(name)) throw new ApiError("bad_data", 400, $"invalid label name: \"{name}\"");
        var sets = MatcherSets(ctx, required: false);
        var (start, end) = Range(ctx, time);
        var values = new SortedSet<string>(StringComparer.Ordinal);
        if (sets.Count == 0) values.UnionWith(m.Querier.LabelValues(name, start, end, []));
        foreach (var set in sets) values.UnionWith(m.Querier.LabelValues(name, start, end, set));
        w.WriteStartArray();
        foreach (var v in values) w.WriteStringValue(v);
        w.WriteEndArray();
        return Task.CompletedTask;
    }

    private static bool IsLabelName(string s) =>
        s.Length > 0 && (char.IsAsciiLetter(s[0]) || s[0] == '_') && s.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');

    private static Task Metadata(HttpContext ctx, Utf8JsonWriter w, MetricsRuntime m)
    {
        var limit = 0;
        if (One(ctx, "limit") is { } l && (!int.TryParse(l, out limit) || limit < 0))
            throw new ApiError("bad_data", 400, "invalid parameter \"limit\": must be a non-negative integer");
        var md = m.Scrape?.Metadata(One(ctx, "metric"), limit) ?? new Dictionary<string, IReadOnlyList<MetricMetadata>>();
        w.WriteStartObject();
        foreach (var (family, list) in md)
        {
            w.WriteStartArray(family);
            foreach (var x in list)
            {
                w.WriteStartObject();
                w.WriteString("type", MetricMetadata.TypeName(x.Type));
                w.WriteString("help", x.Help);
                w.WriteString("unit", x.Unit);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        w.WriteEndObject();
        return Task.CompletedTask;
    }

    private static Task Targets(HttpContext ctx, Utf8JsonWriter w, MetricsRuntime m)
    {
        var state = One(ctx, "state") ?? "any";
        w.WriteStartObject();
        w.WriteStartArray("activeTargets");
        if (state is "any" or "active")
        {
            foreach (var t in m.Scrape?.ActiveTargets() ?? [])
            {
                w.WriteStartObject();
                w.WritePropertyName("discoveredLabels");
                WriteLabels(w, t.DiscoveredLabels);
                w.WritePropertyName("labels");
                WriteLabels(w, t.Labels);
                w.WriteString("scrapePool", t.Job);
                w.WriteString("scrapeUrl", t.ScrapeUrl.ToString());
                w.WriteString("globalUrl", t.ScrapeUrl.ToString());
                w.WriteString("lastError", t.LastError ?? "");
                w.WriteString("lastScrape", t.LastScrape?.ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ", CultureInfo.InvariantCulture) ?? "0001-01-01T00:00:00Z");
                w.WriteNumber("lastScrapeDuration", t.LastScrapeDuration.TotalSeconds);
                w.WriteString("health", t.Health switch { TargetHealth.Up => "up", TargetHealth.Down => "down", _ => "unknown" });
                w.WriteString("scrapeInterval", Duration.Format(t.Target.Interval));
                w.WriteString("scrapeTimeout", Duration.Format(t.Target.Timeout));
                w.WriteEndObject();
            }
        }
        w.WriteEndArray();
        w.WriteStartArray("droppedTargets");
        if (state is "any" or "dropped")
        {
            foreach (var d in m.Scrape?.DroppedTargets() ?? [])
            {
                w.WriteStartObject();
                w.WritePropertyName("discoveredLabels");
                WriteLabels(w, d.DiscoveredLabels);
                w.WriteEndObject();
            }
        }
        w.WriteEndArray();
        w.WriteEndObject();
        return Task.CompletedTask;
    }

    private static void WriteLabels(Utf8JsonWriter w, Labels l)
    {
        w.WriteStartObject();
        foreach (var x in l) w.WriteString(x.Name, x.Value);
        w.WriteEndObject();
    }

    /// <summary>
    /// A sample value as Prometheus 2.42 writes it: the shortest digits that round-trip, in fixed notation; a vector or
    /// matrix point (<paramref name="point"/>) switches to exponent notation ("1e-07", "1e+21") below 1e-6 and from 1e21
    /// on, a scalar never does.
    /// </summary>
    public static string FormatValue(double v, bool point = true)
    {
        if (double.IsNaN(v)) return "NaN";
        if (double.IsInfinity(v)) return v > 0 ? "+Inf" : "-Inf";
        var r = v.ToString("R", CultureInfo.InvariantCulture);
        var abs = Math.Abs(v);
        var exponent = point && abs != 0 && (abs < 1e-6 || abs >= 1e21);
        if (!exponent && !r.Contains('E', StringComparison.Ordinal)) return r;

        // Shortest round-trip digits and the position of the decimal point relative to them.
        var neg = r[0] == '-';
        var body = neg ? r[1..] : r;
        var e = body.IndexOf('E', StringComparison.Ordinal);
        var mantissa = e < 0 ? body : body[..e];
        var pow = e < 0 ? 0 : int.Parse(body[(e + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        var dot = mantissa.IndexOf('.', StringComparison.Ordinal);
        var digits = dot < 0 ? mantissa : mantissa.Remove(dot, 1);
        var pointPos = (dot < 0 ? mantissa.Length : dot) + pow;
        var lead = 0;
        while (lead < digits.Length - 1 && digits[lead] == '0') lead++;
        digits = digits[lead..].TrimEnd('0');
        pointPos -= lead;
        if (digits.Length == 0) return r; // zero

        string text;
        if (exponent)
        {
            var x = pointPos - 1;
            text = (digits.Length > 1 ? digits[..1] + "." + digits[1..] : digits) + (x < 0 ? "e-" : "e+")
                + Math.Abs(x).ToString("00", CultureInfo.InvariantCulture);
        }
        else if (pointPos <= 0) text = "0." + new string('0', -pointPos) + digits;
        else if (pointPos >= digits.Length) text = digits + new string('0', pointPos - digits.Length);
        else text = digits[..pointPos] + "." + digits[pointPos..];
        return neg ? "-" + text : text;
    }

    /// <summary>
    /// Timestamps in seconds: a vector or matrix point with all three millisecond digits when it has any ("12.250"), as
    /// Prometheus writes points; a scalar as the shortest number ("12.25"), as Prometheus writes scalars.
    /// </summary>
    private static void WritePoint(Utf8JsonWriter w, long t, double v, bool point = true)
    {
        w.WriteStartArray();
        if (point && t % 1000 != 0)
        {
            var abs = Math.Abs(t);
            w.WriteRawValue((t < 0 ? "-" : "") + (abs / 1000).ToString(CultureInfo.InvariantCulture) + "." + (abs % 1000).ToString("000", CultureInfo.InvariantCulture));
        }
        else
        {
            w.WriteRawValue((t / 1000.0).ToString("0.###", CultureInfo.InvariantCulture));
        }
        w.WriteStringValue(FormatValue(v, point));
        w.WriteEndArray();
    }

    private static void WriteResult(Utf8JsonWriter w, QueryValue value, long t)
    {
        w.WriteStartObject();
        switch (value)
        {
            case ScalarResult s:
                w.WriteString("resultType", "scalar");
                w.WritePropertyName("result");
                WritePoint(w, s.T, s.V, point: false);
                break;
            case StringResult s:
                w.WriteString("resultType", "string");
                w.WritePropertyName("result");
                w.WriteStartArray();
                w.WriteRawValue((s.T / 1000.0).ToString("0.###", CultureInfo.InvariantCulture));
                w.WriteStringValue(s.V);
                w.WriteEndArray();
                break;
            case VectorResult v:
                w.WriteString("resultType", "vector");
                w.WriteStartArray("result");
                foreach (var e in v.Samples)
                {
                    w.WriteStartObject();
                    w.WritePropertyName("metric");
                    WriteLabels(w, e.Labels);
                    w.WritePropertyName("value");
                    WritePoint(w, e.T, e.V);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                break;
            case MatrixResult mtx:
                w.WriteString("resultType", "matrix");
                w.WriteStartArray("result");
                foreach (var s in mtx.Series)
                {
                    w.WriteStartObject();
                    w.WritePropertyName("metric");
                    WriteLabels(w, s.Labels);
                    w.WriteStartArray("values");
                    foreach (var p in s.Floats) WritePoint(w, p.T, p.V);
                    w.WriteEndArray();
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                break;
            default:
                w.WriteString("resultType", "vector");
                w.WriteStartArray("result");
                w.WriteEndArray();
                break;
        }
        w.WriteEndObject();
    }
}
