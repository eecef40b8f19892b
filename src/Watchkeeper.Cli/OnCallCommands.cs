using System.CommandLine;
using System.Globalization;
using System.Text.Json;

namespace Watchkeeper.Cli;

/// <summary>
/// <c>wk oncall</c>: who is on call now or at a time, schedule overrides; and <c>wk alert ack</c>: acknowledge an
/// incident (stops its escalation and its response SLA clock).
/// </summary>
public static class OnCallCommands
{
    public static Command Build(WkConsole io, Globals g)
    {
        var at = new Option<string?>("--at") { Description = "Who is on call at this time (RFC 3339, a date, or a duration from now such as 3d)", HelpName = "TIME" };
        var schedule = new Option<string?>("--schedule", "-s") { Description = "Only this schedule", HelpName = "NAME" };
        var cmd = new Command("oncall", "Who is on call now (or --at a time), and schedule overrides") { at, schedule };
        cmd.Aliases.Add("on-call");
        cmd.Run(io, g, async (ctx, ct) =>
        {
            var q = new Query().Add("schedule", ctx.Get(schedule));
            if (ctx.Get(at) is { } t) q.Add("at", TimeArgs.Rfc3339(AtTime(t, ctx.Now)));
            var r = await ctx.Api().GetAsync("api/v1/oncall" + q, ct);
            return ctx.Print(r, () =>
            {
                var table = Fmt.Table("SCHEDULE", "ON CALL", "UNTIL", "NEXT");
                foreach (var e in r.Json.EnumerateArray())
                {
                    var who = Str(e, "person") is { } p ? p + (Str(e, "source") == "override" ? " (override)" : "") : "nobody";
                    table.Row(Str(e, "schedule"), who, Str(e, "until") is { } u ? Fmt.Time(DateTimeOffset.Parse(u, CultureInfo.InvariantCulture)) : Fmt.None, Str(e, "next_person") ?? Fmt.None);
                }
                ctx.Write(table);
            });
        });
        cmd.Subcommands.Add(Override(io, g));
        return cmd;
    }

    /// <summary>"--at 3d" is three days from now; an absolute time is taken as is.</summary>
    private static DateTimeOffset AtTime(string text, DateTimeOffset now) =>
        TimeArgs.TryParseDuration(text, out var d) ? now + d : TimeArgs.Time(text, "--at");

    private static Command Override(WkConsole io, Globals g)
    {
        var cmd = new Command("override", "Put someone on call instead of the rotation for a while");
        var schedule = new Option<string>("--schedule", "-s") { Description = "Schedule", Required = true, HelpName = "NAME" };
        var person = new Option<string>("--person", "-p") { Description = "Who is on call instead (a name from people:)", Required = true, HelpName = "NAME" };
        var from = new Option<string?>("--from") { Description = "Start (RFC 3339 time) [default: now]", HelpName = "TIME" };
        var until = new Option<string>("--until") { Description = "End: RFC 3339 time, or a duration after the start such as 8h", Required = true, HelpName = "TIME|DURATION" };
        var reason = new Option<string?>("--reason") { Description = "Why (shown on the schedule)", HelpName = "TEXT" };
        var add = new Command("add", "Create an override") { schedule, person, from, until, reason };
        add.Run(io, g, async (ctx, ct) =>
        {
            var start = ctx.Get(from) is { } f ? TimeArgs.Time(f, "--from") : ctx.Now;
            var u = ctx.Get(until)!;
            var end = TimeArgs.TryParseDuration(u, out var d) ? start + d : TimeArgs.Time(u, "--until");
            var r = await ctx.Api().PostAsync("api/v1/oncall/overrides", new
            {
                schedule = ctx.Get(schedule), person = ctx.Get(person), start = TimeArgs.Rfc3339(start), end = TimeArgs.Rfc3339(end), reason = ctx.Get(reason),
            }, ct);
            return ctx.Print(r, () => ctx.Line($"Override #{r.Json.GetProperty("id").GetInt64()}: {Str(r.Json, "person")} is on call for {Str(r.Json, "schedule")} from {Fmt.Time(start)} until {Fmt.Time(end)}."));
        });
        var listSchedule = new Option<string?>("--schedule", "-s") { Description = "Only this schedule", HelpName = "NAME" };
        var list = new Command("list", "Current and upcoming overrides") { listSchedule };
        list.Run(io, g, async (ctx, ct) =>
        {
            var r = await ctx.Api().GetAsync("api/v1/oncall/overrides" + new Query().Add("schedule", ctx.Get(listSchedule)), ct);
            return ctx.Print(r, () =>
            {
                var t = Fmt.Table("ID", "SCHEDULE", "PERSON", "FROM", "UNTIL", "REASON", "BY");
                foreach (var e in r.Json.EnumerateArray())
                    t.Row(e.GetProperty("id").GetInt64().ToString(CultureInfo.InvariantCulture), Str(e, "schedule"), Str(e, "person"), Fmt.Time(e.GetProperty("start").GetDateTimeOffset()),
                        Fmt.Time(e.GetProperty("end").GetDateTimeOffset()), Fmt.Or(Str(e, "reason")), Str(e, "created_by"));
                ctx.Write(t);
            });
        });
        var id = IncidentCommands.IdArgument("override-id", "Override id");
        var rm = new Command("rm", "Remove an override") { id };
        rm.Aliases.Add("delete");
        rm.Run(io, g, async (ctx, ct) =>
        {
            await ctx.Api().DeleteAsync($"api/v1/oncall/overrides/{ctx.Get(id)}", ct);
            ctx.Line($"Removed override #{ctx.Get(id)}.");
            return ExitCodes.Ok;
        });
        cmd.Subcommands.Add(add);
        cmd.Subcommands.Add(list);
        cmd.Subcommands.Add(rm);
        return cmd;
    }

    /// <summary><c>wk alert ack INCIDENT|FINGERPRINT</c>, added to the <c>alert</c> command group.</summary>
    public static Command Ack(WkConsole io, Globals g)
    {
        var target = new Argument<string>("target") { Description = "Incident id (12 or #12) or alert fingerprint (16 hex digits)", HelpName = "INCIDENT|FINGERPRINT" };
        var cmd = new Command("ack", "Acknowledge: stops the escalation and the response SLA clock") { target };
        cmd.Aliases.Add("acknowledge");
        cmd.Run(io, g, async (ctx, ct) =>
        {
            var t = ctx.Get(target).Trim();
            // A fingerprint is acknowledged through the open incident it is attached to (the server looks it up).
            var byFingerprint = t.Length == 16 && t.All(Uri.IsHexDigit);
            long id = 0;
            if (!byFingerprint && (!long.TryParse(t.TrimStart('#'), NumberStyles.None, CultureInfo.InvariantCulture, out id) || id <= 0))
                throw WkException.Usage($"'{t}' is neither an incident id (such as 12) nor an alert fingerprint (16 hex digits)");
            var r = await ctx.Api().PostAsync(byFingerprint ? $"api/v1/alerts/{t.ToLowerInvariant()}/acknowledge" : $"api/v1/incidents/{id}/acknowledge", null, ct);
            return ctx.Print(r, () =>
            {
                var sla = r.Json.GetProperty("response_sla");
                var took = sla.GetProperty("elapsed_seconds").ValueKind == JsonValueKind.Number ? Fmt.Duration(sla.GetProperty("elapsed_seconds").GetDouble()) : Fmt.None;
                var which = byFingerprint ? $"incident #{r.Json.GetProperty("id").GetInt64()} (alert {t.ToLowerInvariant()})" : $"incident #{id}";
                ctx.Line($"Acknowledged {which} after {took}{(sla.GetProperty("breached").GetBoolean() ? " (response target missed)" : "")}. Escalation stopped.");
            });
        });
        return cmd;
    }

    private static string? Str(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
