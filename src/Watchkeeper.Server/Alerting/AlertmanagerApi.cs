using System.Globalization;
using System.Security.Claims;
using System.Text.Json;
using Microsoft.AspNetCore.Mvc;
using Watchkeeper.Alerting.Alerts;
using Watchkeeper.Alerting.Routing;
using Watchkeeper.Alerting.Silences;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Alerting;

/// <summary>
/// Alertmanager's API v2 under <c>/alertmanager/api/v2/</c>, with Alertmanager's bodies. Reads need a viewer;
/// posting alerts and writing silences need a responder (Prometheus posts with a responder token, see
/// docs/alertmanager.md). Errors are problem details.
/// </summary>
public static class AlertmanagerApi
{
    /// <summary>Largest accepted request body (an alert batch or a silence).</summary>
    public const long MaxBodyBytes = 16L << 20;

    private static readonly DateTimeOffset Started = DateTimeOffset.UtcNow;

    /// <summary>The Alertmanager release whose API and semantics this follows.</summary>
    public const string CompatibleVersion = "0.27.0";

    public static void MapAlertmanagerApi(this WebApplication app)
    {
        app.MapGet("/alertmanager/-/healthy", () => TypedResults.Text("OK")).AllowAnonymous().ExcludeFromDescription();
        app.MapGet("/alertmanager/-/ready", () => TypedResults.Text("OK")).AllowAnonymous().ExcludeFromDescription();
        var g = app.MapGroup("/alertmanager/api/v2").WithTags("alertmanager").RequireAuthorization(Policies.Viewer).DisableAntiforgery();
        g.MapGet("/status", (HttpContext ctx, AlertingEngine e) => Write(ctx, w => Status(w, e)));
        g.MapGet("/receivers", (HttpContext ctx, AlertingEngine e) => Write(ctx, w =>
        {
            w.WriteStartArray();
            foreach (var n in e.ReceiverNames) { w.WriteStartObject(); w.WriteString("name", n); w.WriteEndObject(); }
            w.WriteEndArray();
        }));
        g.MapGet("/alerts", (HttpContext ctx, AlertingEngine e) => Write(ctx, w => Alerts(ctx, w, e)));
        g.MapPost("/alerts", PostAlerts).RequireAuthorization(Policies.Responder);
        g.MapGet("/alerts/groups", (HttpContext ctx, AlertingEngine e) => Write(ctx, w => Groups(ctx, w, e)));
        g.MapGet("/silences", (HttpContext ctx, AlertingEngine e) => Write(ctx, w => Silences(ctx, w, e)));
        g.MapPost("/silences", PostSilence).RequireAuthorization(Policies.Responder);
        g.MapGet("/silence/{silenceID}", (HttpContext ctx, string silenceID, AlertingEngine e) =>
        {
            var s = e.Silences.Get(silenceID) ?? throw new NotFoundException($"silence {silenceID} not found");
            return Write(ctx, w => WriteSilence(w, s, e.Time.GetUtcNow()));
        });
        g.MapDelete("/silence/{silenceID}", async (string silenceID, AlertingEngine e, ClaimsPrincipal user, CancellationToken ct) =>
        {
            await Silence(() => e.Silences.ExpireAsync(silenceID, new SilenceChange(user.Actor(), "expired through the Alertmanager API"), ct));
            return TypedResults.Ok();
        }).RequireAuthorization(Policies.Responder);
    }

    private static async Task Write(HttpContext ctx, Action<Utf8JsonWriter> body)
    {
        ctx.Response.ContentType = "application/json";
        await using var w = new Utf8JsonWriter(ctx.Response.Body);
        body(w);
        await w.FlushAsync(ctx.RequestAborted);
    }

    private static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    private static void Status(Utf8JsonWriter w, AlertingEngine e)
    {
        w.WriteStartObject();
        w.WriteStartObject("cluster");
        w.WriteString("status", "disabled");
        w.WriteStartArray("peers");
        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteStartObject("config");
        w.WriteString("original", Watchkeeper.Metrics.Configuration.SecretRedactor.RedactYaml(e.Config.Original)); // as Alertmanager: secrets shown as <secret>
        w.WriteEndObject();
        w.WriteStartObject("versionInfo");
        // "version" is the Alertmanager API level whose semantics Watchkeeper follows (amtool compares it with its own);
        // Watchkeeper's own version is in "revision".
        var version = typeof(AlertmanagerApi).Assembly.GetName().Version?.ToString() ?? "0.0.0";
        w.WriteString("branch", "watchkeeper");
        w.WriteString("buildDate", "");
        w.WriteString("buildUser", "");
        w.WriteString("goVersion", "");
        w.WriteString("revision", "watchkeeper-" + version);
        w.WriteString("version", CompatibleVersion);
        w.WriteEndObject();
        w.WriteString("uptime", Time(Started));
        w.WriteEndObject();
    }

    /// <summary>The filters GET alerts and alerts/groups take: filter (matchers), receiver (regex), active/silenced/inhibited/unprocessed.</summary>
    private sealed record AlertQuery(List<Matcher> Filter, System.Text.RegularExpressions.Regex? Receiver, bool Active, bool Silenced, bool Inhibited, bool Unprocessed)
    {
        public static AlertQuery From(HttpContext ctx)
        {
            var q = ctx.Request.Query;
            var filter = new List<Matcher>();
            foreach (var f in q["filter"])
            {
                try
                {
                    filter.AddRange(MatcherParser.ParseList(f ?? ""));
                }
                catch (FormatException ex)
                {
                    throw new ValidationException("filter", ex.Message);
                }
            }
            System.Text.RegularExpressions.Regex? receiver = null;
            if (q["receiver"].ToString() is { Length: > 0 } r)
            {
                try
                {
                    receiver = new System.Text.RegularExpressions.Regex("^(?:" + r + ")$", System.Text.RegularExpressions.RegexOptions.None, TimeSpan.FromSeconds(1));
                }
                catch (ArgumentException ex)
                {
                    throw new ValidationException("receiver", ex.Message);
                }
            }
            return new AlertQuery(filter, receiver, Bool(q, "active"), Bool(q, "silenced"), Bool(q, "inhibited"), Bool(q, "unprocessed"));
        }

        private static bool Bool(IQueryCollection q, string name) => q[name].ToString() switch
        {
            "" or "true" or "True" or "1" => true,
            "false" or "False" or "0" => false,
            var x => throw new ValidationException(name, $"expected true or false, got \"{x}\""),
        };

        public bool Keeps(Alert a, AlertStatus st, DateTimeOffset now)
        {
            if (a.Resolved(now)) return false;
            if (!Filter.All(m => m.Matches(a.Labels))) return false;
            if (Receiver is not null && !st.Receivers.Any(Receiver.IsMatch)) return false;
            if (!Active && st.State == "active") return false;
            if (!Silenced && st.SilencedBy.Count > 0) return false;
            if (!Inhibited && st.InhibitedBy.Count > 0) return false;
            return true;
        }
    }

    private static void Alerts(HttpContext ctx, Utf8JsonWriter w, AlertingEngine e)
    {
        var q = AlertQuery.From(ctx);
        var now = e.Time.GetUtcNow();
        w.WriteStartArray();
        foreach (var a in Watchkeeper.Alerting.Dispatch.Dispatcher.Sort(e.Store.Snapshot()))
        {
            var st = e.Status(a);
            if (q.Keeps(a, st, now)) WriteAlert(w, a, st);
        }
        w.WriteEndArray();
    }

    private static void Groups(HttpContext ctx, Utf8JsonWriter w, AlertingEngine e)
    {
        var q = AlertQuery.From(ctx);
        var now = e.Time.GetUtcNow();
        w.WriteStartArray();
        foreach (var g in e.Groups().OrderBy(g => g.GroupKey, StringComparer.Ordinal))
        {
            if (q.Receiver is not null && !q.Receiver.IsMatch(g.Route.Opts.Receiver)) continue;
            var alerts = g.Alerts.Select(a => (a, st: e.Status(a))).Where(x => q.Keeps(x.a, x.st with { Receivers = [g.Route.Opts.Receiver] }, now)).ToList();
            if (alerts.Count == 0) continue;
            w.WriteStartObject();
            WriteLabels(w, "labels", g.Labels);
            w.WriteStartObject("receiver");
            w.WriteString("name", g.Route.Opts.Receiver);
            w.WriteEndObject();
            w.WriteStartArray("alerts");
            foreach (var (a, st) in alerts) WriteAlert(w, a, st);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    private static void WriteLabels(Utf8JsonWriter w, string name, IReadOnlyDictionary<string, string> labels)
    {
        w.WriteStartObject(name);
        foreach (var (k, v) in labels.OrderBy(p => p.Key, StringComparer.Ordinal)) w.WriteString(k, v);
        w.WriteEndObject();
    }

    private static void WriteAlert(Utf8JsonWriter w, Alert a, AlertStatus st)
    {
        w.WriteStartObject();
        WriteLabels(w, "annotations", a.Annotations);
        w.WriteString("endsAt", Time(a.EndsAt));
        w.WriteString("fingerprint", LabelSets.FormatFingerprint(a.Fingerprint));
        w.WriteStartArray("receivers");
        foreach (var r in st.Receivers) { w.WriteStartObject(); w.WriteString("name", r); w.WriteEndObject(); }
        w.WriteEndArray();
        w.WriteString("startsAt", Time(a.StartsAt));
        w.WriteStartObject("status");
        w.WriteStartArray("inhibitedBy");
        foreach (var x in st.InhibitedBy) w.WriteStringValue(x);
        w.WriteEndArray();
        w.WriteStartArray("silencedBy");
        foreach (var x in st.SilencedBy) w.WriteStringValue(x);
        w.WriteEndArray();
        w.WriteString("state", st.State);
        w.WriteEndObject();
        w.WriteString("updatedAt", Time(a.UpdatedAt));
        if (a.GeneratorUrl.Length > 0) w.WriteString("generatorURL", a.GeneratorUrl);
        WriteLabels(w, "labels", a.Labels);
        w.WriteEndObject();
    }

    private static async Task<JsonDocument> ReadBody(HttpContext ctx)
    {
        if (ctx.Request.ContentLength > MaxBodyBytes) throw new ValidationException("body", $"larger than {MaxBodyBytes} bytes");
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int n;
        while ((n = await ctx.Request.Body.ReadAsync(chunk, ctx.RequestAborted)) > 0)
        {
            await buffer.WriteAsync(chunk.AsMemory(0, n), ctx.RequestAborted);
            if (buffer.Length > MaxBodyBytes) throw new ValidationException("body", $"larger than {MaxBodyBytes} bytes");
        }
        try
        {
            return JsonDocument.Parse(buffer.ToArray(), new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException ex)
        {
            throw new ValidationException("body", "invalid JSON: " + ex.Message);
        }
    }

    /// <summary>
    /// Reads, stores and routes a posted batch; the result is 200 or a 400 problem naming each invalid alert by index. The
    /// mapped endpoint and <see cref="AlertPostFastPath"/> both answer with it; a whole-body refusal is thrown as a
    /// <see cref="ValidationException"/>.
    /// </summary>
    internal static async Task<IResult> PostAlerts(HttpContext ctx, AlertingEngine e)
    {
        var (batch, indexOf, errors, count) = await AlertBatchReader.ReadAsync(ctx, MaxBodyBytes, e.Store.Limits.MaxBatch);
        errors.AddRange(e.Receive(batch).Select(x => x with { Index = indexOf[x.Index] }));
        if (errors.Count == 0) return TypedResults.Ok();
        errors.Sort((a, b) => a.Index.CompareTo(b.Index));
        var problem = Problems.Create(400, "Invalid alerts", string.Join("; ", errors.Select(x => $"alert {x.Index}: {x.Reason}")) +
            $" ({count - errors.Count} of {count} alerts were stored)");
        problem.Extensions["errors"] = errors.Select(x => new Dictionary<string, object> { ["index"] = x.Index, ["reason"] = x.Reason }).ToList();
        return TypedResults.Problem(problem);
    }

    private static string? TimeOf(JsonElement el, string field, out DateTimeOffset? t)
    {
        t = null;
        if (el.ValueKind == JsonValueKind.Null) return null;
        if (el.ValueKind != JsonValueKind.String || !DateTimeOffset.TryParse(el.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var v))
            return $"{field}: expected an RFC 3339 time";
        // Go's zero time (0001-01-01T00:00:00Z) means "not set", as Alertmanager reads it.
        t = v.Year <= 1 ? null : v;
        return null;
    }

    private static void Silences(HttpContext ctx, Utf8JsonWriter w, AlertingEngine e)
    {
        var filter = new List<Matcher>();
        foreach (var f in ctx.Request.Query["filter"])
        {
            try
            {
                filter.AddRange(MatcherParser.ParseList(f ?? ""));
            }
            catch (FormatException ex)
            {
                throw new ValidationException("filter", ex.Message);
            }
        }
        var now = e.Time.GetUtcNow();
        // Alertmanager's order: active (ending soonest first), pending (starting soonest first), expired (most recent first).
        var list = e.Silences.All().Where(s => filter.All(f => s.Matchers.Any(m => m.Name == f.Name && m.OpText == f.OpText && m.Value == f.Value) || MatchesEqual(s, f)))
            .OrderBy(s => s.State(now) switch { SilenceState.Active => 0, SilenceState.Pending => 1, _ => 2 })
            .ThenBy(s => s.State(now) switch { SilenceState.Active => s.EndsAt.UtcTicks, SilenceState.Pending => s.StartsAt.UtcTicks, _ => -s.EndsAt.UtcTicks });
        w.WriteStartArray();
        foreach (var s in list) WriteSilence(w, s, now);
        w.WriteEndArray();
    }

    /// <summary>Alertmanager filters silences by their equality matchers' label set: a filter matches the silence's <c>=</c> pairs.</summary>
    private static bool MatchesEqual(Silence s, Matcher f)
    {
        var labels = s.Matchers.Where(m => m.Op == Watchkeeper.Metrics.Model.MatchOp.Equal).ToDictionary(m => m.Name, m => m.Value, StringComparer.Ordinal);
        return f.Matches(labels);
    }

    private static void WriteSilence(Utf8JsonWriter w, Silence s, DateTimeOffset now)
    {
        w.WriteStartObject();
        w.WriteString("id", s.Id);
        w.WriteStartObject("status");
        w.WriteString("state", Watchkeeper.Alerting.Silences.Silence.StateName(s.State(now)));
        w.WriteEndObject();
        w.WriteString("updatedAt", Time(s.UpdatedAt));
        w.WriteString("comment", s.Comment);
        w.WriteString("createdBy", s.CreatedBy);
        w.WriteString("endsAt", Time(s.EndsAt));
        w.WriteStartArray("matchers");
        foreach (var m in s.Matchers)
        {
            w.WriteStartObject();
            w.WriteBoolean("isEqual", m.IsEqual);
            w.WriteBoolean("isRegex", m.IsRegex);
            w.WriteString("name", m.Name);
            w.WriteString("value", m.Value);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteString("startsAt", Time(s.StartsAt));
        w.WriteEndObject();
    }

    private static async Task Silence(Func<Task> action)
    {
        try
        {
            await action();
        }
        catch (SilenceException ex) when (ex.NotFound)
        {
            throw new NotFoundException(ex.Message);
        }
        catch (SilenceException ex)
        {
            throw new ValidationException("silence", ex.Message);
        }
    }

    private static async Task<IResult> PostSilence(HttpContext ctx, AlertingEngine e, CancellationToken ct)
    {
        using var doc = await ReadBody(ctx);
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object) throw new ValidationException("body", "expected a silence object");
        string Str(string name) => root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : "";
        DateTimeOffset When(string name)
        {
            if (!root.TryGetProperty(name, out var v) || TimeOf(v, name, out var t) is { } err || t is null)
                throw new ValidationException(name, "required, an RFC 3339 time");
            return t.Value;
        }
        var matchers = new List<Matcher>();
        if (!root.TryGetProperty("matchers", out var ms) || ms.ValueKind != JsonValueKind.Array) throw new ValidationException("matchers", "required, an array");
        var i = 0;
        foreach (var m in ms.EnumerateArray())
        {
            if (m.ValueKind != JsonValueKind.Object || !m.TryGetProperty("name", out var n) || n.ValueKind != JsonValueKind.String
                || !m.TryGetProperty("value", out var v) || v.ValueKind != JsonValueKind.String)
                throw new ValidationException($"matchers[{i}]", "needs name and value strings");
            var isRegex = m.TryGetProperty("isRegex", out var r) && r.ValueKind == JsonValueKind.True;
            var isEqual = !m.TryGetProperty("isEqual", out var eq) || eq.ValueKind != JsonValueKind.False;
            try
            {
                matchers.Add(AlertingStore.ToMatcher(n.GetString()!, v.GetString()!, isRegex, isEqual));
            }
            catch (FormatException ex)
            {
                throw new ValidationException($"matchers[{i}]", ex.Message);
            }
            i++;
        }
        var silence = new Silence(Str("id"), new Matchers(matchers), When("startsAt"), When("endsAt"), e.Time.GetUtcNow(), Str("createdBy"), Str("comment"));
        string id = "";
        await Silence(async () => id = await e.Silences.SetAsync(silence, ctx.User.Actor(), ct));
        // Written by hand: the API's JSON options name properties in snake_case, Alertmanager's body is camelCase.
        return TypedResults.Text($"{{\"silenceID\":{JsonSerializer.Serialize(id)}}}", "application/json");
    }
}
