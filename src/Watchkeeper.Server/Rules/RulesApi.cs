using System.Globalization;
using System.Text.Json;
using Watchkeeper.Metrics.Rules;
using Watchkeeper.Server.Monitoring;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Rules;

/// <summary>
/// <c>/prometheus/api/v1/rules</c> and <c>/prometheus/api/v1/alerts</c> with Prometheus 3's bodies, so Grafana's
/// alerting view and other Prometheus clients read Watchkeeper's rules. Viewers may call them, like the query routes.
/// </summary>
public static class RulesApi
{
    public static void MapRulesApi(this WebApplication app)
    {
        var g = app.MapGroup("/prometheus/api/v1").WithTags("prometheus").RequireAuthorization(Policies.Viewer).DisableAntiforgery();
        g.MapGet("/rules", (HttpContext ctx, RulesRuntime rules) => PrometheusApi.Run(ctx, w => WriteRules(ctx, w, rules)));
        g.MapGet("/alerts", (HttpContext ctx, RulesRuntime rules) => PrometheusApi.Run(ctx, w => WriteAlerts(w, rules)));
    }

    private static Task WriteRules(HttpContext ctx, Utf8JsonWriter w, RulesRuntime runtime)
    {
        var q = ctx.Request.Query;
        var type = q["type"].ToString();
        if (type.Length > 0 && type is not ("alert" or "record"))
            throw new PrometheusApi.ApiError("bad_data", 400, $"invalid query parameter type='{type}', must be one of 'alert' or 'record'");
        var names = Set(q["rule_name[]"]);
        var groups = Set(q["rule_group[]"], q["group_name[]"]);
        var files = Set(q["file[]"]);
        var excludeAlerts = q["exclude_alerts"].ToString() switch
        {
            "" or "false" or "0" => false,
            "true" or "1" => true,
            var x => throw new PrometheusApi.ApiError("bad_data", 400, $"parameter 'exclude_alerts' must be a boolean, got '{x}'"),
        };
        var filtered = names.Count > 0 || type.Length > 0;
        w.WriteStartObject();
        w.WriteStartArray("groups");
        foreach (var grp in runtime.Manager?.Groups ?? [])
        {
            if (groups.Count > 0 && !groups.Contains(grp.Name)) continue;
            if (files.Count > 0 && !files.Contains(grp.File)) continue;
            var rules = grp.Rules.Where(r => (type.Length == 0 || (type == "alert") == r.Def.IsAlert) && (names.Count == 0 || names.Contains(r.Name))).ToList();
            if (filtered && rules.Count == 0) continue;
            w.WriteStartObject();
            w.WriteString("name", grp.Name);
            w.WriteString("file", grp.File);
            w.WriteStartArray("rules");
            foreach (var r in rules) WriteRule(w, r, excludeAlerts);
            w.WriteEndArray();
            w.WriteNumber("interval", grp.Interval.TotalSeconds);
            w.WriteNumber("limit", grp.Limit);
            w.WriteNumber("evaluationTime", grp.EvaluationTime.TotalSeconds);
            w.WriteString("lastEvaluation", Time(grp.LastEvaluation));
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
        return Task.CompletedTask;
    }

    private static void WriteRule(Utf8JsonWriter w, Rule r, bool excludeAlerts)
    {
        w.WriteStartObject();
        if (r is AlertingRule a)
        {
            w.WriteString("state", ActiveAlert.StateName(a.State));
            w.WriteString("name", r.Name);
            w.WriteString("query", r.Def.Expr);
            w.WriteNumber("duration", a.HoldDuration.TotalSeconds);
            w.WriteNumber("keepFiringFor", a.KeepFiringFor.TotalSeconds);
            Map(w, "labels", r.Labels);
            Map(w, "annotations", r.Def.Annotations.Select(x => new Metrics.Model.Label(x.Key, x.Value)));
            if (!excludeAlerts)
            {
                w.WriteStartArray("alerts");
                foreach (var al in a.ActiveAlerts()) WriteAlert(w, al);
                w.WriteEndArray();
            }
            Health(w, r);
            w.WriteString("type", "alerting");
        }
        else
        {
            w.WriteString("name", r.Name);
            w.WriteString("query", r.Def.Expr);
            if (r.Labels.Count > 0) Map(w, "labels", r.Labels);
            Health(w, r);
            w.WriteString("type", "recording");
        }
        w.WriteEndObject();
    }

    private static void Health(Utf8JsonWriter w, Rule r)
    {
        w.WriteString("health", HealthName(r.Health));
        if (r.LastError is { Length: > 0 } e) w.WriteString("lastError", e);
        w.WriteNumber("evaluationTime", r.EvaluationTime.TotalSeconds);
        w.WriteString("lastEvaluation", Time(r.LastEvaluation));
    }

    public static string HealthName(RuleHealth h) => h switch
    {
        RuleHealth.Good => "ok",
        RuleHealth.Bad => "err",
        _ => "unknown",
    };

    private static Task WriteAlerts(Utf8JsonWriter w, RulesRuntime runtime)
    {
        w.WriteStartObject();
        w.WriteStartArray("alerts");
        foreach (var g in runtime.Manager?.Groups ?? [])
            foreach (var r in g.Rules.OfType<AlertingRule>())
                foreach (var a in r.ActiveAlerts()) WriteAlert(w, a);
        w.WriteEndArray();
        w.WriteEndObject();
        return Task.CompletedTask;
    }

    private static void WriteAlert(Utf8JsonWriter w, ActiveAlert a)
    {
        w.WriteStartObject();
        Map(w, "labels", a.Labels);
        Map(w, "annotations", a.Annotations);
        w.WriteString("state", ActiveAlert.StateName(a.State));
        w.WriteString("activeAt", Time(a.ActiveAt));
        if (a.KeepFiringSince is { } k) w.WriteString("keepFiringSince", Time(k));
        w.WriteString("value", AlertingRule.FormatValue(a.Value));
        w.WriteEndObject();
    }

    private static void Map(Utf8JsonWriter w, string name, IEnumerable<Metrics.Model.Label> labels)
    {
        w.WriteStartObject(name);
        foreach (var l in labels) w.WriteString(l.Name, l.Value);
        w.WriteEndObject();
    }

    /// <summary>Go's time.Time JSON: RFC 3339 with nanoseconds trimmed; the zero time for "never".</summary>
    public static string Time(DateTimeOffset? t) =>
        t is null ? "0001-01-01T00:00:00Z" : t.Value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture);

    private static HashSet<string> Set(params Microsoft.Extensions.Primitives.StringValues[] values) =>
        [.. values.SelectMany(v => v.ToArray()).OfType<string>().Where(s => s.Length > 0)];
}
