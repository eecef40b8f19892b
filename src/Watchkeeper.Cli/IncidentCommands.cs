using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Watchkeeper.Cli;

/// <summary>
/// <c>wk incident ...</c>: the incident response process of the operations manual (section 2):
/// declare, acknowledge, assign roles, post status updates, work the checklist, resolve, and write
/// the postmortem with its action items.
/// </summary>
public static partial class IncidentCommands
{
    private const string Base = "api/v1/incidents";

    public static Command Build(WkConsole io, Globals g)
    {
        var cmd = new Command("incident", "Declare, update, resolve and review incidents");
        cmd.Aliases.Add("incidents");
        cmd.Aliases.Add("inc");
        foreach (var c in new[]
        {
            Start(io, g), List(io, g), Show(io, g), Update(io, g), StatusUpdate(io, g), Ack(io, g), Assign(io, g),
            Resolve(io, g), Reopen(io, g), Note(io, g), Timeline(io, g), Checklist(io, g), Postmortem(io, g), ActionItem(io, g),
        })
        {
            cmd.Subcommands.Add(c);
        }
        return cmd;
    }

    // ------------------------------------------------------------------ arguments

    public static Argument<long> IdArgument(string name = "id", string description = "Incident id (12 or #12)") => new(name)
    {
        Description = description,
        HelpName = name.ToUpperInvariant(),
        CustomParser = r =>
        {
            var t = r.Tokens.Count > 0 ? r.Tokens[0].Value : "";
            if (long.TryParse(t.TrimStart('#'), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0) return n;
            r.AddError($"'{t}' is not a valid {name.Replace('-', ' ')} (expected a number such as 12)");
            return 0;
        },
    };

    private static Argument<long[]> IdsArgument(string name, string description) => new(name)
    {
        Description = description,
        HelpName = name.ToUpperInvariant(),
        Arity = ArgumentArity.OneOrMore,
        CustomParser = r =>
        {
            var list = new List<long>();
            foreach (var tok in r.Tokens)
            {
                if (long.TryParse(tok.Value.TrimStart('#'), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0) list.Add(n);
                else r.AddError($"'{tok.Value}' is not a valid {name.Replace('-', ' ')} (expected a number such as 12)");
            }
            return list.ToArray();
        },
    };

    private static Option<string?> Text(string name, string description, string help = "TEXT") => new(name) { Description = description, HelpName = help };

    /// <summary>Comma-separated and/or repeated: <c>--services api,web --services db</c>.</summary>
    private static Option<string[]?> ListOption(string name, string description) => new(name)
    {
        Description = description + " (comma-separated or repeated)",
        HelpName = "A,B",
        AllowMultipleArgumentsPerToken = false,
    };

    /// <summary>Null when the option was not given (so nothing changes); <c>--services ""</c> is an empty list.</summary>
    private static List<string>? SplitList(string[]? values) =>
        values is null || values.Length == 0 ? null : values.SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();

    /// <summary>Long text options accept <c>@file</c> (read the file) and <c>@-</c> (read stdin).</summary>
    private static string? LongText(Ctx ctx, string? value, string option)
    {
        if (value is null || !value.StartsWith('@') || value.Length == 1) return value;
        if (value == "@-")
            return ctx.Io.In?.ReadToEnd() ?? throw WkException.Usage($"{option} @-: nothing piped on stdin");
        var path = value[1..];
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw WkException.Usage($"{option}: cannot read {path}: {CliConfigFile.OneLine(ex.Message)}");
        }
    }

    // ------------------------------------------------------------------ start

    private static Command Start(WkConsole io, Globals g)
    {
        var title = new Option<string>("--title", "-t") { Description = "What is wrong, in one line", Required = true, HelpName = "TEXT" };
        var severity = new Option<string>("--severity", "-s") { Description = "SEV1 (outage) .. SEV4 (cosmetic), as in the severity matrix", Required = true, HelpName = "SEV" };
        var kind = Text("--kind", "operational (default) or security", "KIND");
        var summary = Text("--summary", "Brief description (@file or @- to read it)");
        var services = ListOption("--services", "Services affected");
        var commander = Text("--commander", "Incident commander", "NAME");
        var comms = Text("--comms-lead", "Communications lead", "NAME");
        var scribe = Text("--scribe", "Scribe", "NAME");
        var source = Text("--detection-source", "automated, manual (default) or external", "SOURCE");
        var users = Text("--users-affected", "Users affected [default: from the severity]");
        var business = Text("--business-impact", "Business impact [default: from the severity]");
        var detected = Text("--detected-at", "When the problem was detected, if earlier than now (RFC 3339 time, or a duration ago such as 10m)", "TIME");
        var cmd = new Command("start", "Declare an incident: starts its SLA clocks and its response checklist")
        {
            title, severity, kind, summary, services, commander, comms, scribe, source, users, business, detected,
        };
        cmd.Aliases.Add("declare");
        cmd.Aliases.Add("create");
        cmd.Run(io, g, async (ctx, ct) =>
        {
            var body = new
            {
                title = ctx.Get(title),
                severity = ctx.Get(severity),
                kind = ctx.Get(kind),
                summary = LongText(ctx, ctx.Get(summary), "--summary"),
                services_affected = SplitList(ctx.Get(services)),
                commander = ctx.Get(commander),
                communications_lead = ctx.Get(comms),
                scribe = ctx.Get(scribe),
                detection_source = ctx.Get(source),
                users_affected = ctx.Get(users),
                business_impact = ctx.Get(business),
                detected_at = ctx.Get(detected) is { } d ? TimeArgs.Rfc3339(TimeArgs.Since(d, ctx.Now, "--detected-at")) : null,
            };
            var r = await ctx.Api().PostAsync(Base, body, ct);
            return ctx.Print(r, () =>
            {
                var inc = r.As<IncidentDto>();
                ctx.Line($"Declared incident #{inc.Id} ({inc.Severity}). Next: wk incident ack {inc.Id} · wk incident checklist {inc.Id}");
                ctx.Line();
                ctx.Write(Card(inc, ctx.Now));
            });
        });
        return cmd;
    }

    // ------------------------------------------------------------------ list / show

    private static Command List(WkConsole io, Globals g)
    {
        var status = Text("--status", "investigating, identified, monitoring, resolved or open (comma-separated for several)", "STATUS");
        var severity = Text("--severity", "SEV1..SEV4 (comma-separated for several)", "SEV");
        var kind = Text("--kind", "operational or security", "KIND");
        var since = Text("--since", "Detected within this long (30m, 24h, 30d) or since a time (RFC 3339)", "DURATION|TIME");
        var search = Text("--search", "Only incidents whose title contains this", "TEXT");
        var limit = new Option<int>("--limit", "-n") { Description = "At most this many (1-500)", DefaultValueFactory = _ => 50, HelpName = "N" };
        var cursor = new Option<long?>("--cursor") { Description = "Continue after this page (the next_cursor of the previous page)", HelpName = "CURSOR" };
        var cmd = new Command("list", "List incidents, newest first") { status, severity, kind, since, search, limit, cursor };
        cmd.Aliases.Add("ls");
        cmd.Run(io, g, async (ctx, ct) =>
        {
            var q = new Query()
                .Add("status", ctx.Get(status))
                .Add("severity", ctx.Get(severity))
                .Add("kind", ctx.Get(kind))
                .Add("from", ctx.Get(since) is { } s ? TimeArgs.Rfc3339(TimeArgs.Since(s, ctx.Now)) : null)
                .Add("q", ctx.Get(search))
                .Add("limit", ctx.Get(limit).ToString(CultureInfo.InvariantCulture))
                .Add("cursor", ctx.Get(cursor)?.ToString(CultureInfo.InvariantCulture));
            var r = await ctx.Api().GetAsync(Base + q, ct);
            return ctx.Print(r, () =>
            {
                var page = r.As<IncidentPageDto>();
                if (page.Items.Count == 0)
                {
                    ctx.Line("No incidents match.");
                    return;
                }
                var t = Fmt.Table("ID", "SEV", "STATUS", "TITLE", "COMMANDER", "DETECTED", "RESPONSE", "RESOLUTION");
                foreach (var i in page.Items)
                {
                    t.Row(i.Id.ToString(CultureInfo.InvariantCulture), i.Severity, i.Status, i.Title, Fmt.Or(i.Roles.Commander),
                        Fmt.Relative(i.DetectedAt, ctx.Now), Fmt.SlaShort(i.ResponseSla), Fmt.SlaShort(i.ResolutionSla));
                }
                ctx.Write(t);
                ctx.Line($"{page.Items.Count} of {page.Total} incident(s)" + (page.NextCursor is { } n ? $"; more with --cursor {n}" : ""));
            });
        });
        return cmd;
    }

    private static Command Show(WkConsole io, Globals g)
    {
        var id = IdArgument();
        var cmd = new Command("show", "Show an incident: status, SLA clocks, roles, checklist progress and the last status update") { id };
        cmd.Aliases.Add("get");
        cmd.Run(io, g, async (ctx, ct) =>
        {
            var api = ctx.Api();
            var n = ctx.Get(id);
            var r = await api.GetAsync($"{Base}/{n}", ct);
            if (ctx.Json)
            {
                ctx.PrintJson(r);
                return ExitCodes.Ok;
            }
            var inc = r.As<IncidentDto>();
            var checklist = (await api.GetAsync($"{Base}/{n}/checklist", ct)).As<ChecklistDto>();
            var updates = (await api.GetAsync($"{Base}/{n}/status-updates", ct)).As<List<StatusUpdateDto>>();
            ctx.Write(Card(inc, ctx.Now, checklist, updates.LastOrDefault()));
            return ExitCodes.Ok;
        });
        return cmd;
    }

    /// <summary>The incident as label/value rows; with the checklist and last update when given.</summary>
    public static IRenderable Card(IncidentDto i, DateTimeOffset now, ChecklistDto? checklist = null, StatusUpdateDto? last = null)
    {
        var rows = new List<(string, IRenderable)>
        {
            ("Incident", new Markup($"[bold]#{i.Id}[/] {Fmt.Esc(i.Title)}")),
            ("Severity", Fmt.Text($"{i.Severity} · {i.Kind}")),
            ("Status", new Markup($"[bold]{Fmt.Esc(Fmt.Title(i.Status))}[/]" +
                (i.AllowedTransitions.Count > 0 ? Fmt.Esc($"  (can move to: {string.Join(", ", i.AllowedTransitions)})") : ""))),
            ("Detected", Fmt.Text($"{Fmt.Time(i.DetectedAt)} ({Fmt.Relative(i.DetectedAt, now)}, {i.DetectionSource})")),
            ("Acknowledged", Fmt.Text(i.AcknowledgedAt is { } a ? $"{Fmt.Time(a)} (after {Fmt.Duration(a - i.DetectedAt)})" : Fmt.None)),
        };
        if (i.MitigatedAt is { } m) rows.Add(("Mitigated", Fmt.Text($"{Fmt.Time(m)} (after {Fmt.Duration(m - i.DetectedAt)})")));
        if (i.ResolvedAt is { } z) rows.Add(("Resolved", Fmt.Text($"{Fmt.Time(z)} (after {Fmt.Duration(z - i.DetectedAt)})")));
        rows.Add(("Summary", Fmt.Text(Fmt.Or(i.Summary))));
        rows.Add(("Services", Fmt.Text(i.Impact.ServicesAffected.Count == 0 ? Fmt.None : string.Join(", ", i.Impact.ServicesAffected))));
        rows.Add(("Users affected", Fmt.Text(Fmt.Or(i.Impact.UsersAffected))));
        rows.Add(("Business impact", Fmt.Text(Fmt.Or(i.Impact.BusinessImpact))));
        rows.Add(("Commander", Fmt.Text(Fmt.Or(i.Roles.Commander, "unassigned"))));
        rows.Add(("Comms lead", Fmt.Text(Fmt.Or(i.Roles.CommunicationsLead, "unassigned"))));
        rows.Add(("Scribe", Fmt.Text(Fmt.Or(i.Roles.Scribe, "unassigned"))));
        rows.Add(("Response SLA", Fmt.Sla(i.ResponseSla, now)));
        rows.Add(("Resolution SLA", Fmt.Sla(i.ResolutionSla, now)));
        if (i.NextUpdateDueAt is { } next)
        {
            rows.Add(("Next update", i.StatusUpdateOverdue
                ? new Markup($"[red bold]OVERDUE[/] since {Fmt.Esc(Fmt.Time(next))} ({Fmt.Esc(Fmt.Relative(next, now))})")
                : Fmt.Text($"due {Fmt.Time(next)} ({Fmt.Relative(next, now)})")));
        }
        if (checklist is not null)
        {
            var head = $"{checklist.Done}/{checklist.Total} done" + (checklist.Overdue > 0 ? $", {checklist.Overdue} overdue" : "");
            var lines = new List<IRenderable> { checklist.Overdue > 0 ? new Markup($"{Fmt.Esc(head.Split(',')[0])}, [red]{checklist.Overdue} overdue[/]") : Fmt.Text(head) };
            foreach (var p in checklist.Phases)
            {
                var mark = p.Done == p.Total ? "✓" : p.Overdue ? "!" : " ";
                lines.Add(Fmt.Text($"{mark} {p.Title}: {p.Done}/{p.Total}{(p.Overdue ? $" (due {Fmt.Time(p.DueAt)})" : "")}"));
            }
            rows.Add(("Checklist", new Rows(lines)));
        }
        if (checklist is not null || last is not null)
        {
            rows.Add(("Last update", last is null
                ? Fmt.Text("none yet")
                : Fmt.Text($"{Fmt.Time(last.At)} by {last.Author} ({last.Visibility}, {Fmt.Title(last.Status)}): {last.CurrentStatus}")));
        }
        return Fmt.Pairs(rows);
    }
}

/// <summary>A URL query string built from the options that were given.</summary>
public sealed class Query
{
    private readonly List<string> _parts = [];

    public Query Add(string name, string? value)
    {
        if (!string.IsNullOrEmpty(value)) _parts.Add(name + "=" + Uri.EscapeDataString(value));
        return this;
    }

    public override string ToString() => _parts.Count == 0 ? "" : "?" + string.Join('&', _parts);
}
