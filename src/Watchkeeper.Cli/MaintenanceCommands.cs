using System.CommandLine;
using System.Globalization;
using System.Text.Json;

namespace Watchkeeper.Cli;

/// <summary>
/// <c>wk maintenance schedule|start|validate|complete|rollback|cancel|list</c>: maintenance windows and runs
/// (operations manual 3.2). Scheduling a window needs an admin token; running maintenance a responder's.
/// </summary>
public static class MaintenanceCommands
{
    private const string Base = "api/v1/maintenance";

    public static Command Build(WkConsole io, Globals g)
    {
        var cmd = new Command("maintenance", "Maintenance windows and runs: schedule, start, validate, complete, roll back, cancel, list");
        cmd.Subcommands.Add(Schedule(io, g));
        cmd.Subcommands.Add(StartCommand(io, g));
        cmd.Subcommands.Add(Validate(io, g));
        cmd.Subcommands.Add(Finish(io, g, "complete", "Complete a run whose last validation passed: users told, follow-up review scheduled", "summary", "--summary", "What was done (documented on the run)", required: false));
        cmd.Subcommands.Add(Finish(io, g, "rollback", "Roll back a running run: silences expired, users told, follow-up review scheduled", "reason", "--reason", "Why it was rolled back (required)", required: true));
        cmd.Subcommands.Add(Finish(io, g, "cancel", "Cancel a run that has not started (users who were told hear it is cancelled)", "reason", "--reason", "Why it is cancelled (required)", required: true));
        cmd.Subcommands.Add(List(io, g));
        return cmd;
    }

    private static Command Schedule(WkConsole io, Globals g)
    {
        var id = new Argument<string>("id") { Description = "Window id: lower-case letters, digits and '-'", HelpName = "ID" };
        var title = new Option<string?>("--title") { Description = "What users read (required)", HelpName = "TEXT" };
        var description = new Option<string?>("--description") { Description = "What is done, for users", HelpName = "TEXT" };
        var zone = new Option<string?>("--time-zone") { Description = "IANA time zone of the times, cron and rule [default: UTC]", HelpName = "ZONE" };
        var start = new Option<string?>("--start") { Description = "One-off: local start, 2026-12-20T02:00 (or RFC 3339 with an offset)", HelpName = "TIME" };
        var end = new Option<string?>("--end") { Description = "One-off: local end (or give --duration)", HelpName = "TIME" };
        var cron = new Option<string?>("--cron") { Description = "Recurring: five-field cron expression, e.g. '0 2 * * SUN'", HelpName = "EXPR" };
        var rule = new Option<string?>("--rule") { Description = "Recurring: monthly rule, e.g. '2nd tuesday', 'last sunday' (with --at)", HelpName = "RULE" };
        var at = new Option<string?>("--at") { Description = "With --rule: local start time HH:MM", HelpName = "HH:MM" };
        var duration = new Option<string?>("--duration") { Description = "How long each occurrence lasts, e.g. 2h", HelpName = "DURATION" };
        var components = new Option<string[]>("--components") { Description = "Affected status page components or services (comma-separated or repeated)", HelpName = "NAMES", AllowMultipleArgumentsPerToken = true };
        var plan = new Option<string?>("--rollback-plan") { Description = "Default rollback plan of the window's runs", HelpName = "TEXT" };
        var probes = new Option<string[]>("--probe") { Description = "A probe that must be green to validate (repeatable)", HelpName = "NAME" };
        var promql = new Option<string[]>("--promql") { Description = "A PromQL expression that must be true to validate (repeatable)", HelpName = "EXPR" };
        var notify = new Option<string?>("--notify-before") { Description = "Tell users this long ahead [default: maintenance.notify_before]", HelpName = "DURATION" };
        var c = new Command("schedule", "Schedule a maintenance window (one-off or recurring); prints its next occurrences. Needs an admin token.")
        {
            id, title, description, zone, start, end, cron, rule, at, duration, components, plan, probes, promql, notify,
        };
        c.Run(io, g, async (ctx, ct) =>
        {
            if (string.IsNullOrWhiteSpace(ctx.Get(title))) throw WkException.Usage("--title is required");
            var names = (ctx.Get(components) ?? []).SelectMany(x => x.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToArray();
            if (names.Length == 0) throw WkException.Usage("--components is required: the affected status page components or services");
            var body = new Dictionary<string, object?>
            {
                ["id"] = ctx.Get(id), ["title"] = ctx.Get(title), ["description"] = ctx.Get(description) ?? "", ["time_zone"] = ctx.Get(zone) ?? "UTC",
                ["start"] = ctx.Get(start), ["end"] = ctx.Get(end), ["cron"] = ctx.Get(cron), ["rule"] = ctx.Get(rule), ["at"] = ctx.Get(at),
                ["duration"] = ctx.Get(duration), ["notify_before"] = ctx.Get(notify), ["components"] = names, ["rollback_plan"] = ctx.Get(plan) ?? "",
                ["checks"] = new { probes = ctx.Get(probes) ?? [], promql = ctx.Get(promql) ?? [] },
            };
            var r = await ctx.Api().PostAsync($"{Base}/windows", body, ct);
            return ctx.Print(r, () =>
            {
                ctx.Line($"Scheduled window {Str(r.Json, "id")} ({Str(r.Json, "kind")}, {Str(r.Json, "time_zone")}).");
                Occurrences(ctx, r.Json.GetProperty("next"));
            });
        });
        return c;
    }

    private static Command StartCommand(WkConsole io, Globals g)
    {
        var window = new Argument<string?>("window") { Description = "The window whose current occurrence (or the next within maintenance.early_start) starts", HelpName = "WINDOW", Arity = ArgumentArity.ZeroOrOne };
        var run = new Option<long?>("--run") { Description = "Start this run (instead of a window)", HelpName = "RUN" };
        var occurrence = new Option<string?>("--occurrence") { Description = "The occurrence's start (RFC 3339), when not the current one", HelpName = "TIME" };
        var plan = new Option<string?>("--rollback-plan") { Description = "How to undo the change (required unless the window has one)", HelpName = "TEXT" };
        var backup = new Option<string?>("--backup-confirmation") { Description = "Where the backup taken for this run is (required when the server has no backup service)", HelpName = "TEXT" };
        backup.Aliases.Add("--backup");
        var team = new Option<string?>("--team") { Description = "Who does the maintenance", HelpName = "NAMES" };
        var c = new Command("start", "Start maintenance: records the backup and rollback plan, shows the components under maintenance and silences their alerts until the window ends")
        {
            window, run, occurrence, plan, backup, team,
        };
        c.Run(io, g, async (ctx, ct) =>
        {
            var w = ctx.Get(window);
            var id = ctx.Get(run);
            if ((w is null) == (id is null)) throw WkException.Usage("give a window id or --run RUN (one of them)");
            var body = new Dictionary<string, object?>
            {
                ["window"] = w, ["occurrence"] = ctx.Get(occurrence), ["rollback_plan"] = ctx.Get(plan), ["backup_confirmation"] = ctx.Get(backup), ["team"] = ctx.Get(team),
            };
            var r = await ctx.Api().PostAsync(id is { } rid ? $"{Base}/runs/{rid.ToString(CultureInfo.InvariantCulture)}/start" : $"{Base}/runs/start", body, ct);
            return ctx.Print(r, () =>
            {
                ctx.Line($"Run {Long(r.Json, "id")} ({Str(r.Json, "title")}) is in progress until {Fmt.Time(r.Json.GetProperty("end").GetDateTimeOffset())}.");
                ctx.Line($"Under maintenance: {string.Join(", ", r.Json.GetProperty("components").EnumerateArray().Select(x => x.GetString()))}; {r.Json.GetProperty("silence_ids").GetArrayLength()} silence(s).");
                ctx.Line($"Next: wk maintenance validate {Long(r.Json, "id")}");
            });
        });
        return c;
    }

    private static Command Validate(WkConsole io, Globals g)
    {
        var run = RunArgument();
        var c = new Command("validate", "Run the window's checks (probes green, PromQL true) and record each result; exits 5 when one fails") { run };
        c.Run(io, g, async (ctx, ct) =>
        {
            var r = await ctx.Api().PostAsync($"{Base}/runs/{ctx.Get(run).ToString(CultureInfo.InvariantCulture)}/validate", null, ct);
            var last = r.Json.GetProperty("validations").EnumerateArray().Last();
            var passed = last.GetProperty("passed").GetBoolean();
            ctx.Print(r, () =>
            {
                var t = Fmt.Table("CHECK", "KIND", "RESULT", "DETAIL");
                foreach (var x in last.GetProperty("results").EnumerateArray())
                    t.Row(Str(x, "name"), Str(x, "kind"), x.GetProperty("passed").GetBoolean() ? "pass" : "FAIL", Str(x, "detail"));
                ctx.Write(t);
                ctx.Line(passed
                    ? $"Validation {Long(last, "attempt")} passed. Next: wk maintenance complete {Long(r.Json, "id")}"
                    : $"Validation {Long(last, "attempt")} failed: fix and validate again, or wk maintenance rollback {Long(r.Json, "id")} --reason TEXT");
            });
            return passed ? ExitCodes.Ok : ExitCodes.CheckFailed;
        });
        return c;
    }

    private static Command Finish(WkConsole io, Globals g, string name, string description, string field, string optionName, string optionDescription, bool required)
    {
        var run = RunArgument();
        var text = new Option<string?>(optionName) { Description = optionDescription, HelpName = "TEXT" };
        var c = new Command(name, description) { run, text };
        c.Run(io, g, async (ctx, ct) =>
        {
            if (required && string.IsNullOrWhiteSpace(ctx.Get(text))) throw WkException.Usage($"{optionName} is required");
            var r = await ctx.Api().PostAsync($"{Base}/runs/{ctx.Get(run).ToString(CultureInfo.InvariantCulture)}/{name}", new Dictionary<string, object?> { [field] = ctx.Get(text) }, ct);
            return ctx.Print(r, () =>
            {
                ctx.Line($"Run {Long(r.Json, "id")} is {Fmt.Title(Str(r.Json, "state")).ToLowerInvariant()}.");
                if (r.Json.GetProperty("review_due_at").ValueKind == JsonValueKind.String)
                    ctx.Line($"Follow-up review due {Fmt.Time(r.Json.GetProperty("review_due_at").GetDateTimeOffset())}.");
            });
        });
        return c;
    }

    private static Command List(WkConsole io, Globals g)
    {
        var state = new Option<string?>("--state") { Description = "Only runs in this state", HelpName = "STATE" };
        state.AcceptOnlyFromAmong("scheduled", "preparing", "in_progress", "validating", "completed", "rolled_back", "cancelled");
        var days = new Option<int>("--days") { Description = "Upcoming occurrences over this many days", DefaultValueFactory = _ => 30, HelpName = "N" };
        var c = new Command("list", "Upcoming occurrences of every window, and recent runs") { state, days };
        c.Aliases.Add("ls");
        c.Run(io, g, async (ctx, ct) =>
        {
            var n = ctx.Get(days);
            if (n is < 1 or > 800) throw WkException.Usage("--days must be between 1 and 800");
            var api = ctx.Api();
            var to = TimeArgs.Rfc3339(ctx.Now.AddDays(n));
            var occ = await api.GetAsync($"{Base}/occurrences?to={Uri.EscapeDataString(to)}", ct);
            var runs = await api.GetAsync($"{Base}/runs" + new Query().Add("state", ctx.Get(state)).Add("limit", "50"), ct);
            if (ctx.Json)
            {
                ctx.PrintJson(JsonSerializer.SerializeToElement(new { occurrences = occ.Json, runs = runs.Json }));
                return ExitCodes.Ok;
            }
            ctx.Line($"Upcoming maintenance ({n} days):");
            Occurrences(ctx, occ.Json);
            ctx.Line();
            ctx.Line("Runs:");
            var t = Fmt.Table("RUN", "WINDOW", "TITLE", "STATE", "START", "END", "FINISHED");
            foreach (var x in runs.Json.EnumerateArray())
                t.Row(Long(x, "id"), Str(x, "window_id"), Str(x, "title"), Str(x, "state"), Fmt.Time(x.GetProperty("start").GetDateTimeOffset()),
                    Fmt.Time(x.GetProperty("end").GetDateTimeOffset()), x.GetProperty("finished_at").ValueKind == JsonValueKind.String ? Fmt.Time(x.GetProperty("finished_at").GetDateTimeOffset()) : Fmt.None);
            ctx.Write(t);
            return ExitCodes.Ok;
        });
        return c;
    }

    private static void Occurrences(Ctx ctx, JsonElement list)
    {
        var t = Fmt.Table("WINDOW", "TITLE", "START (LOCAL)", "END (LOCAL)", "ZONE", "COMPONENTS", "RUN");
        foreach (var o in list.EnumerateArray())
            t.Row(Str(o, "window_id"), Str(o, "title"), Str(o, "start_local"), Str(o, "end_local"), Str(o, "time_zone"),
                string.Join(",", o.GetProperty("components").EnumerateArray().Select(x => x.GetString())),
                o.GetProperty("run_id").ValueKind == JsonValueKind.Number ? $"{Long(o, "run_id")} ({Str(o, "run_state")})" : Fmt.None);
        ctx.Write(t);
        if (list.GetArrayLength() == 0) ctx.Line("No occurrences in this period.");
    }

    private static Argument<long> RunArgument() => new("run") { Description = "The run id (the RUN column of 'wk maintenance list')", HelpName = "RUN" };

    private static string Str(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : "";

    private static string Long(JsonElement e, string name) => e.GetProperty(name).GetInt64().ToString(CultureInfo.InvariantCulture);
}
