using System.CommandLine;
using System.Globalization;

namespace Watchkeeper.Cli;

/// <summary><c>wk report incidents</c>: MTTA/MTTR by severity against the matrix targets, SLA breaches and counts.</summary>
public static class ReportCommands
{
    public static Command Build(WkConsole io, Globals g)
    {
        var cmd = new Command("report", "Reports over a period");
        cmd.Aliases.Add("reports");

        var since = new Option<string?>("--since") { Description = "Period ending now: 24h, 7d, 30d (default), 12w; or a start time", HelpName = "DURATION|TIME" };
        var from = new Option<string?>("--from") { Description = "Period start (RFC 3339 time or date)", HelpName = "TIME" };
        var to = new Option<string?>("--to") { Description = "Period end (RFC 3339 time or date) [default: now]", HelpName = "TIME" };
        var bucket = new Option<string?>("--bucket") { Description = "Trend bucket: hour, day or week [default: by period length]", HelpName = "BUCKET" };
        bucket.AcceptOnlyFromAmong("hour", "day", "week");
        var trend = new Option<bool>("--trend") { Description = "Also print incident counts per bucket" };
        var incidents = new Command("incidents", "Incident counts, MTTA and MTTR by severity against the severity matrix's targets, and SLA breaches")
        {
            since, from, to, bucket, trend,
        };
        incidents.Run(io, g, async (ctx, ct) =>
        {
            if (ctx.Get(since) is not null && (ctx.Get(from) is not null || ctx.Get(to) is not null))
                throw WkException.Usage("use either --since or --from/--to, not both");
            var now = ctx.Now;
            var start = ctx.Get(since) is { } s ? TimeArgs.Since(s, now)
                : ctx.Get(from) is { } f ? TimeArgs.Time(f, "--from")
                : (DateTimeOffset?)null;
            var end = ctx.Get(to) is { } t ? TimeArgs.Time(t, "--to") : (DateTimeOffset?)null;
            // The server defaults to the 30 days before --to; "now" here is the client's clock.
            start ??= (end ?? now).AddDays(-30);
            end ??= now;
            var q = new Query().Add("from", TimeArgs.Rfc3339(start.Value)).Add("to", TimeArgs.Rfc3339(end.Value)).Add("bucket", ctx.Get(bucket));
            var r = await ctx.Api().GetAsync("api/v1/reports/incidents" + q, ct);
            return ctx.Print(r, () => Render(ctx, r.As<IncidentReportDto>(), ctx.Get(trend)));
        });
        cmd.Subcommands.Add(incidents);

        var service = new Option<string?>("--service") { Description = "Only this service", HelpName = "SERVICE" };
        var days = new Option<int>("--days") { Description = "UTC days ending today", DefaultValueFactory = _ => 30, HelpName = "N" };
        var daily = new Option<bool>("--daily") { Description = "Also print each day's availability" };
        var uptime = new Command("uptime", "Availability per service and component over the last N days against the uptime target (99.9%), with the error budget left")
        {
            service, days, daily,
        };
        uptime.Run(io, g, async (ctx, ct) =>
        {
            var n = ctx.Get(days);
            if (n is < 1 or > 400) throw WkException.Usage("--days must be between 1 and 400");
            var q = new Query().Add("service", ctx.Get(service)).Add("days", n.ToString(CultureInfo.InvariantCulture));
            var r = await ctx.Api().GetAsync("api/v1/reports/uptime" + q, ct);
            return ctx.Print(r, () => RenderUptime(ctx, r.Json, ctx.Get(daily)));
        });
        cmd.Subcommands.Add(uptime);

        var mDays = new Option<int>("--days") { Description = "Period: the last N days", DefaultValueFactory = _ => 90, HelpName = "N" };
        var maintenance = new Command("maintenance", "Maintenance success rate (completed vs rolled back runs) against the target (> 99%); exits 5 below it")
        {
            mDays,
        };
        maintenance.Run(io, g, async (ctx, ct) =>
        {
            var n = ctx.Get(mDays);
            if (n is < 1 or > 3660) throw WkException.Usage("--days must be between 1 and 3660");
            var q = new Query().Add("from", TimeArgs.Rfc3339(ctx.Now.AddDays(-n)));
            var r = await ctx.Api().GetAsync("api/v1/reports/maintenance" + q, ct);
            var j = r.Json;
            var meets = j.GetProperty("meets_target").ValueKind;
            ctx.Print(r, () =>
            {
                double? pct = j.GetProperty("success_percent").ValueKind == System.Text.Json.JsonValueKind.Number ? j.GetProperty("success_percent").GetDouble() : null;
                ctx.Line($"Maintenance {Fmt.Time(j.GetProperty("from").GetDateTimeOffset())} .. {Fmt.Time(j.GetProperty("to").GetDateTimeOffset())}: "
                    + $"{j.GetProperty("completed").GetInt64()} completed, {j.GetProperty("rolled_back").GetInt64()} rolled back, {j.GetProperty("cancelled").GetInt64()} cancelled");
                ctx.Line($"Success rate: {(pct is null ? "no finished runs" : Fmt.Percent(pct))} (target > {j.GetProperty("target_percent").GetDouble().ToString("0.###", CultureInfo.InvariantCulture)}%)"
                    + (meets == System.Text.Json.JsonValueKind.False ? ": BELOW TARGET" : meets == System.Text.Json.JsonValueKind.True ? ": met" : ""));
            });
            return meets == System.Text.Json.JsonValueKind.False ? ExitCodes.CheckFailed : ExitCodes.Ok;
        });
        cmd.Subcommands.Add(maintenance);
        return cmd;
    }

    private static void RenderUptime(Ctx ctx, System.Text.Json.JsonElement r, bool daily)
    {
        var target = r.GetProperty("target_percent").GetDouble();
        ctx.Line($"Uptime over {r.GetProperty("days").GetInt32()} days ({Fmt.Time(r.GetProperty("from").GetDateTimeOffset())} .. {Fmt.Time(r.GetProperty("to").GetDateTimeOffset())}), target {target.ToString("0.###", CultureInfo.InvariantCulture)}%");
        var t = Fmt.Table("SERVICE", "COMPONENT", "UPTIME", "TARGET MET", "BUDGET", "BUDGET LEFT", "BUDGET LEFT %");
        var rows = r.GetProperty("services").EnumerateArray().ToList();
        foreach (var row in rows)
        {
            var s = row.GetProperty("summary");
            double? Num(string name) => s.GetProperty(name).ValueKind == System.Text.Json.JsonValueKind.Number ? s.GetProperty(name).GetDouble() : null;
            var availability = Num("availability_percent");
            var meets = s.GetProperty("meets_target").ValueKind switch
            {
                System.Text.Json.JsonValueKind.True => "yes",
                System.Text.Json.JsonValueKind.False => "NO",
                _ => Fmt.None,
            };
            var left = Num("budget_remaining_minutes");
            t.Row(s.GetProperty("service").GetString(), Fmt.Or(s.GetProperty("component").GetString(), "(all)"),
                availability is { } a ? a.ToString("0.###", CultureInfo.InvariantCulture) + "%" : "no data", meets,
                Fmt.Duration(TimeSpan.FromMinutes(s.GetProperty("budget_minutes").GetDouble())),
                left is { } l ? (l < 0 ? "-" + Fmt.Duration(TimeSpan.FromMinutes(-l)) : Fmt.Duration(TimeSpan.FromMinutes(l))) : Fmt.None,
                Fmt.Percent(Num("budget_remaining_percent")));
        }
        ctx.Write(t);
        if (rows.Count == 0) ctx.Line("No uptime data yet: roll-ups are written every uptime.rollup_interval from probes and up.");
        if (!daily) return;
        foreach (var row in rows)
        {
            var s = row.GetProperty("summary");
            ctx.Line();
            ctx.Line($"{s.GetProperty("service").GetString()} {Fmt.Or(s.GetProperty("component").GetString(), "(all)")}:");
            var dt = Fmt.Table("DAY", "UPTIME", "SAMPLES");
            foreach (var d in row.GetProperty("daily").EnumerateArray())
            {
                var p = d.GetProperty("availability_percent");
                dt.Row(d.GetProperty("day").GetString(), p.ValueKind == System.Text.Json.JsonValueKind.Number ? p.GetDouble().ToString("0.###", CultureInfo.InvariantCulture) + "%" : "no data",
                    d.GetProperty("total_samples").GetInt64().ToString(CultureInfo.InvariantCulture));
            }
            ctx.Write(dt);
        }
    }

    private static void Render(Ctx ctx, IncidentReportDto r, bool trend)
    {
        var prev = r.PreviousPeriodTotal is { } p ? $" (previous period: {p.ToString("0", CultureInfo.InvariantCulture)})" : "";
        ctx.Line($"Incidents {Fmt.Time(r.From)} .. {Fmt.Time(r.To)}: {r.Total}{prev}");
        var t = Fmt.Table("SEVERITY", "INCIDENTS", "OPEN", "RESOLVED", "MTTA", "TARGET", "MTTR", "TARGET", "RESPONSE MET", "RESOLUTION MET", "BREACHES (RESP/RESOL)");
        foreach (var s in r.BySeverity)
        {
            t.Row(s.Severity, N(s.Incidents), N(s.Open), N(s.Resolved),
                Over(s.MttaSeconds, s.ResponseTargetSeconds), Fmt.Duration(s.ResponseTargetSeconds),
                Over(s.MttrSeconds, s.ResolutionTargetSeconds), Fmt.Duration(s.ResolutionTargetSeconds),
                Fmt.Percent(s.ResponseMetPercent), Fmt.Percent(s.ResolutionMetPercent),
                $"{N(s.ResponseBreaches)}/{N(s.ResolutionBreaches)}");
        }
        ctx.Write(t);
        var breaches = r.BySeverity.Sum(s => s.ResponseBreaches + s.ResolutionBreaches);
        ctx.Line(breaches == 0 ? "No SLA breaches in this period." : $"{breaches} SLA breach(es) in this period.");
        if (!trend) return;
        var tt = Fmt.Table(["START", "INCIDENTS", .. r.BySeverity.Select(s => s.Severity)]);
        foreach (var b in r.Trend)
        {
            tt.Row([Fmt.Time(b.Start), N(b.Incidents), .. r.BySeverity.Select(s => N(b.BySeverity.GetValueOrDefault(s.Severity)))]);
        }
        ctx.Write(tt);
    }

    private static string N(long n) => n.ToString(CultureInfo.InvariantCulture);

    /// <summary>A mean against its target: "3m", or "2h (over)" when the mean misses it.</summary>
    private static string Over(double? mean, double target) =>
        mean is { } m ? Fmt.Duration(m) + (m > target ? " (over)" : "") : Fmt.None;
}
