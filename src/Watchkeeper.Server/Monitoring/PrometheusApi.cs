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
    internal sealed class ApiError(string type, int status, string message) : Exception(message)
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
            g.MapMethods("/query_range", [method], (HttpContext ctx, MetricsRuntime m, TimeProvider time) => Run(ctx, w => QueryRange(ctx, w, m, time)));
            g.MapMethods("/series", [method], (HttpContext ctx, MetricsRuntime m) => Run(ctx, w => Series(ctx, w, m)));
            g.MapMethods("/labels", [method], (HttpContext ctx, MetricsRuntime m) => Run(ctx, w => LabelNames(ctx, w, m)));
        }
        g.MapGet("/label/{name}/values", (HttpContext ctx, string name, MetricsRuntime m) => Run(ctx, w => LabelValues(ctx, w, name, m)));
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

    internal static async Task Run(HttpContext ctx, Func<Utf8JsonWriter, Task> writeData)
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

    private static ApiError InvalidParam(string param, string error) => new("bad_data", 400, $"invalid parameter \"{param}\": {error}");

    /// <summary>
    /// An RFC 3339 time or Unix seconds, read by the one time parser (<see cref="PromTime"/>) and clamped to Prometheus's
    /// minimum and maximum time.
    /// </summary>
    public static long ParseTime(string? s, string param) =>
        PromTime.TryParse(s ?? "", out var ms, out var error) ? ms : throw InvalidParam(param, error);

    /// <summary>A duration or a number of seconds, in ms (<see cref="PromDuration.TryParseSecondsOrDuration"/>).</summary>
    private static long ParseDurationMs(string? s, string param) =>
        PromDuration.TryParseSecondsOrDuration(s ?? "", out var ms, out var error) ? ms : throw InvalidParam(param, error);

    /// <summary>A time parameter that may be left out.</summary>
    private static long TimeParam(HttpContext ctx, string param, long missing) => One(ctx, param) is { } s ? ParseTime(s, param) : missing;

    /// <summary>The <c>limit</c> parameter: how many series (or names, or values) an answer may hold; 0 or none means all.</summary>
    private static int Limit(HttpContext ctx)
    {
        if (One(ctx, "limit") is not { } s) return 0;
        if (!int.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var limit))
            throw InvalidParam("limit", $"strconv.Atoi: parsing \"{s}\": invalid syntax");
        return limit >= 0 ? limit : throw InvalidParam("limit", "limit must be non-negative");
    }

    private const string Truncated = "results truncated due to limit";

    /// <summary>The caller's token, cancelled also after the request's <c>timeout</c> parameter (on the server's clock).</summary>
    private static CancellationToken Timeout(HttpContext ctx, TimeProvider time, out CancellationTokenSource cts)
    {
        if (One(ctx, "timeout") is not { } t)
        {
            cts = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted);
            return cts.Token;
        }
        var ms = ParseDurationMs(t, "timeout");
        if (ms <= 0) throw InvalidParam("timeout", $"cannot parse \"{t}\" to a valid duration");
        // Beyond what a timer can hold (about 49 days) the engine's own query timeout is the shorter one anyway.
        var timer = ms < uint.MaxValue - 1 ? new CancellationTokenSource(TimeSpan.FromMilliseconds(ms), time) : new CancellationTokenSource();
        cts = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted, timer.Token);
        ctx.Response.RegisterForDispose(timer);
        return cts.Token;
    }

    private static async Task Query(HttpContext ctx, Utf8JsonWriter w, MetricsRuntime m, TimeProvider time)
    {
        var t = TimeParam(ctx, "time", time.GetUtcNow().ToUnixTimeMilliseconds());
        var limit = Limit(ctx);
        var ct = Timeout(ctx, time, out var cts);
        using (cts)
        {
            var expr = ParseQuery(ctx);
            var r = await m.Engine.InstantAsync(m.Querier, expr, t, ct);
            WriteResult(ctx, w, r.Value, limit);
            AddWarnings(ctx, r);
        }
    }

    private static Expr ParseQuery(HttpContext ctx) =>
        Parser.Parse(One(ctx, "query") ?? throw InvalidParam("query", "query is required"));

    /// <summary>Validates as Prometheus does, in its order and words: start, end, their order, step, its sign, the resolution, the query.</summary>
    private static async Task QueryRange(HttpContext ctx, Utf8JsonWriter w, MetricsRuntime m, TimeProvider time)
    {
        var start = ParseTime(One(ctx, "start"), "start");
        var end = ParseTime(One(ctx, "end"), "end");
        if (end < start) throw new ApiError("bad_data", 400, Engine.EndBeforeStart);
        var step = ParseDurationMs(One(ctx, "step"), "step");
        if (step <= 0) throw new ApiError("bad_data", 400, Engine.StepNotPositive);
        // For safety, a bounded number of points per series (computed so that no time range can overflow it).
        if (Engine.TooManyPoints(start, end, step, m.Engine.Options.MaxResolution))
            throw new ApiError("bad_data", 400, Engine.ResolutionExceeded(m.Engine.Options.MaxResolution));
        var limit = Limit(ctx);
        var ct = Timeout(ctx, time, out var cts);
        using (cts)
        {
            var expr = ParseQuery(ctx);
            // As Prometheus's API: a range query of a range vector or string is bad data (400), not an execution error.
            if (expr.Type is not (ValueKind.Scalar or ValueKind.Vector))
            {
                throw new ApiError("bad_data", 400,
                    $"invalid expression type \"{(expr.Type == ValueKind.Matrix ? "range vector" : "string")}\" for range query, must be Scalar or instant Vector");
            }
            var r = await m.Engine.RangeAsync(m.Querier, expr, start, end, step, ct);
            WriteResult(ctx, w, r.Value, limit);
            AddWarnings(ctx, r);
        }
    }

    /// <summary>
    /// The <c>/query</c> (or, with <paramref name="range"/>, <c>/query_range</c>) handler on a request built in process:
    /// the start-up warm-up (<see cref="QueryWarmup"/>) runs the query path through it without HTTP or credentials.
    /// </summary>
    internal static Task HandleQueryAsync(HttpContext ctx, MetricsRuntime m, TimeProvider time, bool range) =>
        range ? Run(ctx, w => QueryRange(ctx, w, m, time)) : Run(ctx, w => Query(ctx, w, m, time));

    private static void AddWarnings(HttpContext ctx, QueryResult r) => Warnings(ctx).AddRange(r.Warnings);

    private static List<string> Warnings(HttpContext ctx) => (List<string>)ctx.Items["warnings"]!;

    /// <summary>The <c>start</c> and <c>end</c> of the metadata endpoints, by default all time (Prometheus's minimum and maximum).</summary>
    private static (long Start, long End) Range(HttpContext ctx)
    {
        var start = TimeParam(ctx, "start", PromTime.MinMs);
        var end = TimeParam(ctx, "end", PromTime.MaxMs);
        if (end < start) throw InvalidParam("end", Engine.EndBeforeStart);
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

    private static Task Series(HttpContext ctx, Utf8JsonWriter w, MetricsRuntime m)
    {
        var sets = MatcherSets(ctx, required: true);
        var (start, end) = Range(ctx);
        var limit = Limit(ctx);
        var seen = new HashSet<Labels>();
        var all = new List<Labels>();
        foreach (var set in sets)
            foreach (var s in m.Querier.Select(start, end, set))
                if (seen.Add(s.Labels)) all.Add(s.Labels);
        all.Sort();
        w.WriteStartArray();
        foreach (var l in Limited(ctx, all, limit)) WriteLabels(w, l);
        w.WriteEndArray();
        return Task.CompletedTask;
    }

    private static Task LabelNames(HttpContext ctx, Utf8JsonWriter w, MetricsRuntime m)
    {
        var sets = MatcherSets(ctx, required: false);
        var (start, end) = Range(ctx);
        var limit = Limit(ctx);
        var names = new SortedSet<string>(StringComparer.Ordinal);
        if (sets.Count == 0) names.UnionWith(m.Querier.LabelNames(start, end, []));
        foreach (var set in sets) names.UnionWith(m.Querier.LabelNames(start, end, set));
        w.WriteStartArray();
        foreach (var n in Limited(ctx, names, limit)) w.WriteStringValue(n);
        w.WriteEndArray();
        return Task.CompletedTask;
    }

    private static Task LabelValues(HttpContext ctx, Utf8JsonWriter w, string name, MetricsRuntime m)
    {
        if (!IsLabelName(name)) throw new ApiError("bad_data", 400, $"invalid label name: \"{name}\"");
        var sets = MatcherSets(ctx, required: false);
        var (start, end) = Range(ctx);
        var limit = Limit(ctx);
        var values = new SortedSet<string>(StringComparer.Ordinal);
        if (sets.Count == 0) values.UnionWith(m.Querier.LabelValues(name, start, end, []));
        foreach (var set in sets) values.UnionWith(m.Querier.LabelValues(name, start, end, set));
        w.WriteStartArray();
        foreach (var v in Limited(ctx, values, limit)) w.WriteStringValue(v);
        w.WriteEndArray();
        return Task.CompletedTask;
    }

    /// <summary>The first <paramref name="limit"/> items (all for 0), with Prometheus's warning when some were left out.</summary>
    private static IEnumerable<T> Limited<T>(HttpContext ctx, IReadOnlyCollection<T> items, int limit)
    {
        if (limit <= 0 || items.Count <= limit) return items;
        Warnings(ctx).Add(Truncated);
        return items.Take(limit);
    }

    private static bool IsLabelName(string s) =>
        s.Length > 0 && (char.IsAsciiLetter(s[0]) || s[0] == '_') && s.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');

    private static Task Metadata(HttpContext ctx, Utf8JsonWriter w, MetricsRuntime m)
    {
        // As Prometheus 3: limit caps the metric names (0 answers none, a negative number or none: all), limit_per_metric
        // the entries per name (0 or less: all).
        var limit = -1;
        if (One(ctx, "limit") is { } l && !int.TryParse(l, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out limit))
            throw new ApiError("bad_data", 400, "limit must be a number");
        var perMetric = -1;
        if (One(ctx, "limit_per_metric") is { } lp && !int.TryParse(lp, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out perMetric))
            throw new ApiError("bad_data", 400, "limit_per_metric must be a number");
        var md = limit == 0 ? new Dictionary<string, IReadOnlyList<MetricMetadata>>()
            : m.Scrape?.Metadata(One(ctx, "metric"), Math.Max(limit, 0)) ?? new Dictionary<string, IReadOnlyList<MetricMetadata>>();
        w.WriteStartObject();
        foreach (var (family, list) in md)
        {
            w.WriteStartArray(family);
            foreach (var x in perMetric > 0 ? list.Take(perMetric) : list)
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

    private static QueryValue Truncate(HttpContext ctx, QueryValue value)
    {
        Warnings(ctx).Add(Truncated);
        return value;
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
        w.WriteRawValue(Seconds(t, point));
        w.WriteStringValue(FormatValue(v, point));
        w.WriteEndArray();
    }

    /// <summary>
    /// Milliseconds as exact decimal seconds (no floating-point rounding, even at the ends of time): with all three
    /// millisecond digits (<paramref name="threeDigits"/>) or the shortest spelling.
    /// </summary>
    private static string Seconds(long t, bool threeDigits)
    {
        var abs = t == long.MinValue ? long.MaxValue : Math.Abs(t);
        var whole = (t < 0 ? "-" : "") + (abs / 1000).ToString(CultureInfo.InvariantCulture);
        if (abs % 1000 == 0) return whole;
        var frac = (abs % 1000).ToString("000", CultureInfo.InvariantCulture);
        return whole + "." + (threeDigits ? frac : frac.TrimEnd('0'));
    }

    private static void WriteResult(HttpContext ctx, Utf8JsonWriter w, QueryValue value, int limit)
    {
        // limit truncates vectors and matrices (not scalars or strings), as Prometheus's does.
        value = value switch
        {
            VectorResult v when limit > 0 && v.Samples.Count > limit => Truncate(ctx, new VectorResult([.. v.Samples.Take(limit)])),
            MatrixResult mx when limit > 0 && mx.Series.Count > limit => Truncate(ctx, new MatrixResult([.. mx.Series.Take(limit)])),
            _ => value,
        };
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
                w.WriteRawValue(Seconds(s.T, threeDigits: false));
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
