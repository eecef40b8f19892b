using System.CommandLine;
using System.Globalization;
using System.Text.Json;

namespace Watchkeeper.Cli;

/// <summary>
/// <c>wk health</c> (probes, <c>up</c>, firing alerts and open incidents per service; exit 5 when unhealthy) and
/// <c>wk perf</c> (request rate, error rate and p95 latency per service from PromQL), the seed's
/// monitor-health.sh and monitor-performance.sh.
/// </summary>
public static class HealthCommands
{
    public static Command Health(WkConsole io, Globals g)
    {
        var service = new Option<string?>("--service") { Description = "Only this service", HelpName = "SERVICE" };
        var cmd = new Command("health", "Overall and per-service health: failing probes, targets down, firing alerts, open incidents. Exits 5 when anything is unhealthy") { service };
        cmd.Run(io, g, async (ctx, ct) =>
        {
            var r = await ctx.Api().GetAsync("api/v1/health" + new Query().Add("service", ctx.Get(service)), ct);
            var healthy = r.Json.GetProperty("healthy").GetBoolean();
            if (ctx.Json) ctx.PrintJson(r);
            else RenderHealth(ctx, r.Json);
            return healthy ? ExitCodes.Ok : ExitCodes.CheckFailed;
        });
        return cmd;
    }

    private static void RenderHealth(Ctx ctx, JsonElement h)
    {
        var status = h.GetProperty("status").GetString() ?? "";
        ctx.Line($"Overall: {status.ToUpperInvariant()}");
        var t = Fmt.Table("SERVICE", "STATUS", "PROBES", "TARGETS UP", "FIRING ALERTS", "OPEN INCIDENTS");
        var problems = new List<string>();
        foreach (var s in h.GetProperty("services").EnumerateArray())
        {
            var name = s.GetProperty("service").GetString() ?? "";
            var probes = s.GetProperty("probes").GetInt32();
            var failing = s.GetProperty("failing_probes").EnumerateArray().ToList();
            var targets = s.GetProperty("targets").GetInt32();
            var down = s.GetProperty("down_targets").EnumerateArray().ToList();
            var alerts = s.GetProperty("firing_alerts").EnumerateArray().ToList();
            var incidents = s.GetProperty("open_incidents").EnumerateArray().ToList();
            t.Row(name, s.GetProperty("status").GetString(),
                probes == 0 ? Fmt.None : $"{probes - failing.Count}/{probes} ok",
                targets == 0 ? Fmt.None : $"{targets - down.Count}/{targets}",
                alerts.Count == 0 ? "0" : string.Join(", ", alerts.Select(a => a.GetProperty("alertname").GetString())),
                incidents.Count == 0 ? "0" : string.Join(", ", incidents.Select(i => "#" + i.GetProperty("id").GetInt64().ToString(CultureInfo.InvariantCulture))));
            foreach (var f in failing)
                problems.Add($"{name}: probe {f.GetProperty("name").GetString()} ({f.GetProperty("target").GetString()}) failing: {Fmt.Or(f.GetProperty("error").GetString())}");
            foreach (var d in down)
                problems.Add($"{name}: target {d.GetProperty("instance").GetString()} down: {Fmt.Or(d.GetProperty("error").GetString())}");
        }
        ctx.Write(t);
        foreach (var p in problems) ctx.Line(p);
    }

    public static Command Perf(WkConsole io, Globals g)
    {
        var service = new Option<string?>("--service") { Description = "Only this service (scrape job)", HelpName = "SERVICE" };
        var window = new Option<string>("--window") { Description = "Rate window", DefaultValueFactory = _ => "5m", HelpName = "DURATION" };
        var cmd = new Command("perf", "Per-service request rate, error rate and p95 latency (PromQL over http_requests_total and http_request_duration_seconds)") { service, window };
        cmd.Aliases.Add("performance");
        cmd.Run(io, g, async (ctx, ct) =>
        {
            var w = ctx.Get(window)!;
            if (!System.Text.RegularExpressions.Regex.IsMatch(w, "^([0-9]+(ms|s|m|h|d|w|y))+$")) throw WkException.Usage($"--window '{w}' is not a duration such as 5m");
            var svc = ctx.Get(service);
            if (svc is not null && svc.Contains('"', StringComparison.Ordinal)) throw WkException.Usage("--service must not contain quotes");
            var sel = svc is null ? "" : $"job=\"{svc}\"";
            var sel5xx = svc is null ? "status=~\"5..\"" : sel + ",status=~\"5..\"";
            var queries = new (string Key, string Expr)[]
            {
                ("rate", $"sum by (job) (rate(http_requests_total{{{sel}}}[{w}]))"),
                ("errors", $"sum by (job) (rate(http_requests_total{{{sel5xx}}}[{w}]))"),
                ("p95", $"histogram_quantile(0.95, sum by (job, le) (rate(http_request_duration_seconds_bucket{{{sel}}}[{w}])))"),
            };
            var results = new Dictionary<string, Dictionary<string, double>>();
            var api = ctx.Api();
            foreach (var (key, expr) in queries)
            {
                var r = await api.GetAsync("prometheus/api/v1/query" + new Query().Add("query", expr), ct);
                var byJob = new Dictionary<string, double>(StringComparer.Ordinal);
                foreach (var v in r.Json.GetProperty("data").GetProperty("result").EnumerateArray())
                {
                    var job = v.GetProperty("metric").TryGetProperty("job", out var j) ? j.GetString() ?? "" : "";
                    var text = v.GetProperty("value")[1].GetString() ?? "NaN";
                    byJob[job] = double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);
                }
                results[key] = byJob;
            }
            var jobs = results.Values.SelectMany(d => d.Keys).Distinct().Order(StringComparer.Ordinal).ToList();
            if (svc is not null && jobs.Count == 0) throw new WkException(ExitCodes.ServerError, $"no request metrics for service '{svc}' (http_requests_total{{job=\"{svc}\"}})");
            var rows = jobs.Select(j =>
            {
                var rate = results["rate"].GetValueOrDefault(j);
                var errors = results["errors"].GetValueOrDefault(j);
                double? p95 = results["p95"].TryGetValue(j, out var p) && !double.IsNaN(p) ? p : null;
                return new PerfRow(j, rate, errors, rate > 0 ? 100 * errors / rate : null, p95);
            }).ToList();
            if (ctx.Json)
            {
                ctx.PrintJson(JsonSerializer.SerializeToElement(new { window = w, services = rows }, Api.Json));
                return ExitCodes.Ok;
            }
            var t = Fmt.Table("SERVICE", "REQ/S", "5XX/S", "ERROR %", "P95 LATENCY");
            foreach (var r in rows)
                t.Row(r.Service, r.RequestsPerSecond.ToString("0.##", CultureInfo.InvariantCulture),
                    r.ErrorsPerSecond.ToString("0.###", CultureInfo.InvariantCulture) + (r.ErrorsPerSecond > 0.1 ? " (over 0.1/s)" : ""),
                    Fmt.Percent(r.ErrorPercent),
                    r.P95Seconds is { } s ? (s * 1000).ToString("0", CultureInfo.InvariantCulture) + "ms" + (s > 0.5 ? " (over 500ms)" : "") : Fmt.None);
            ctx.Write(t);
            if (rows.Count == 0) ctx.Line("No request metrics (http_requests_total) in the window.");
            return ExitCodes.Ok;
        });
        return cmd;
    }

    public sealed record PerfRow(string Service, double RequestsPerSecond, double ErrorsPerSecond, double? ErrorPercent, double? P95Seconds);
}
