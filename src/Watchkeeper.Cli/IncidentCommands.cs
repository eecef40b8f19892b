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
public static class IncidentCommands
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

    // ------------------------------------------------------------------ changes

    private static Command Update(WkConsole io, Globals g)
    {
        var id = IdArgument();
        var status = Text("--status", "Move to investigating, identified, monitoring or resolved", "STATUS");
        var severity = Text("--severity", "Change the severity (SLA clocks follow it)", "SEV");
        var title = Text("--title", "Change the title");
        var summary = Text("--summary", "Change the summary (@file or @- to read it)");
        var services = ListOption("--services", "Replace the services affected");
        var users = Text("--users-affected", "Change the users affected");
        var business = Text("--business-impact", "Change the business impact");
        var kind = Text("--kind", "Change the kind (operational or security)", "KIND");
        var message = Text("--message", "Post a status update with this current status (the manual's update template)");
        var isPublic = new Option<bool>("--public") { Description = "The status update is public (status page); default internal" };
        var nextUpdate = Text("--next-update", "When the next update is due, e.g. 30m [default: the severity's update interval]", "DURATION");
        var cmd = new Command("update", "Change fields (--severity, --summary, ...), move the status (--status) and/or post a status update (--message)")
        {
            id, status, severity, title, summary, services, users, business, kind, message, isPublic, nextUpdate,
        };
        cmd.Run(io, g, async (ctx, ct) =>
        {
            var n = ctx.Get(id);
            var msg = LongText(ctx, ctx.Get(message), "--message");
            if (msg is null && (ctx.Get(isPublic) || ctx.Get(nextUpdate) is not null))
                throw WkException.Usage("--public and --next-update describe a status update: add --message");
            if (ctx.Get(nextUpdate) is { } nu) TimeArgs.Duration(nu, "--next-update");
            var fields = new
            {
                title = ctx.Get(title),
                severity = ctx.Get(severity),
                summary = LongText(ctx, ctx.Get(summary), "--summary"),
                services_affected = SplitList(ctx.Get(services)),
                users_affected = ctx.Get(users),
                business_impact = ctx.Get(business),
                kind = ctx.Get(kind),
            };
            var anyField = fields.title is not null || fields.severity is not null || fields.summary is not null || fields.services_affected is not null
                || fields.users_affected is not null || fields.business_impact is not null || fields.kind is not null;
            var st = ctx.Get(status);
            if (!anyField && st is null && msg is null)
                throw WkException.Usage("nothing to update: pass --status, --message, --severity, --summary, --title, --services, --users-affected, --business-impact or --kind");

            var api = ctx.Api();
            ApiResponse? last = null;
            if (anyField) last = await api.PatchAsync($"{Base}/{n}", fields, ct);
            if (msg is not null)
            {
                await api.PostAsync($"{Base}/{n}/status-updates", new
                {
                    current_status = msg,
                    visibility = ctx.Get(isPublic) ? "public" : "internal",
                    next_update_in = ctx.Get(nextUpdate),
                    status = st,
                }, ct);
                last = await api.GetAsync($"{Base}/{n}", ct);
            }
            else if (st is not null)
            {
                last = await api.PostAsync($"{Base}/{n}/status", new { status = st }, ct);
            }
            return PrintIncident(ctx, last!, msg is null ? $"Updated incident #{n}." : $"Updated incident #{n}; status update posted.");
        });
        return cmd;
    }

    private static int PrintIncident(Ctx ctx, ApiResponse r, string headline) => ctx.Print(r, () =>
    {
        ctx.Line(headline);
        ctx.Line();
        ctx.Write(Card(r.As<IncidentDto>(), ctx.Now));
    });

    private static Command StatusUpdate(WkConsole io, Globals g)
    {
        var id = IdArgument();
        var message = new Option<string>("--message", "-m") { Description = "Current status: what is happening and what the team is doing (@file or @- to read it)", Required = true, HelpName = "TEXT" };
        var isPublic = new Option<bool>("--public") { Description = "Publish on the status page; default internal" };
        var nextUpdate = Text("--next-update", "When the next update is due, e.g. 30m [default: the severity's update interval]", "DURATION");
        var status = Text("--status", "Also move the incident to this status", "STATUS");
        var cmd = new Command("status-update", "Post a status update rendered from the manual's template (2.3) and print it")
        {
            id, message, isPublic, nextUpdate, status,
        };
        cmd.Run(io, g, async (ctx, ct) =>
        {
            if (ctx.Get(nextUpdate) is { } nu) TimeArgs.Duration(nu, "--next-update");
            var r = await ctx.Api().PostAsync($"{Base}/{ctx.Get(id)}/status-updates", new
            {
                current_status = LongText(ctx, ctx.Get(message), "--message"),
                visibility = ctx.Get(isPublic) ? "public" : "internal",
                next_update_in = ctx.Get(nextUpdate),
                status = ctx.Get(status),
            }, ct);
            return ctx.Print(r, () => ctx.Line(r.As<StatusUpdateDto>().Body.TrimEnd()));
        });
        return cmd;
    }

    private static Command Ack(WkConsole io, Globals g)
    {
        var id = IdArgument();
        var cmd = new Command("ack", "Acknowledge an incident: stops its response SLA clock") { id };
        cmd.Aliases.Add("acknowledge");
        cmd.Run(io, g, async (ctx, ct) =>
        {
            var r = await ctx.Api().PostAsync($"{Base}/{ctx.Get(id)}/acknowledge", null, ct);
            return PrintIncident(ctx, r, $"Acknowledged incident #{ctx.Get(id)}.");
        });
        return cmd;
    }

    private static Command Assign(WkConsole io, Globals g)
    {
        var id = IdArgument();
        var commander = Text("--commander", "Incident commander (\"\" to unassign)", "NAME");
        var comms = Text("--comms-lead", "Communications lead (\"\" to unassign)", "NAME");
        var scribe = Text("--scribe", "Scribe (\"\" to unassign)", "NAME");
        var cmd = new Command("assign", "Assign incident roles: commander, communications lead, scribe") { id, commander, comms, scribe };
        cmd.Run(io, g, async (ctx, ct) =>
        {
            var body = new { commander = ctx.Get(commander), communications_lead = ctx.Get(comms), scribe = ctx.Get(scribe) };
            if (body.commander is null && body.communications_lead is null && body.scribe is null)
                throw WkException.Usage("name at least one role: --commander, --comms-lead or --scribe");
            var r = await ctx.Api().PutAsync($"{Base}/{ctx.Get(id)}/roles", body, ct);
            return PrintIncident(ctx, r, $"Roles updated on incident #{ctx.Get(id)}.");
        });
        return cmd;
    }

    private static Command Resolve(WkConsole io, Globals g)
    {
        var id = IdArgument();
        var message = Text("--message", "What fixed it (goes on the timeline)");
        var isPublic = new Option<bool>("--public") { Description = "Also post the message as a final public status update (needs --message)" };
        var cmd = new Command("resolve", "Resolve an incident: stops its resolution SLA clock; the postmortem comes next") { id, message, isPublic };
        cmd.Run(io, g, async (ctx, ct) =>
        {
            var n = ctx.Get(id);
            var msg = ctx.Get(message);
            var api = ctx.Api();
            ApiResponse r;
            if (ctx.Get(isPublic))
            {
                if (msg is null) throw WkException.Usage("--public posts the resolution message as a status update: add --message");
                await api.PostAsync($"{Base}/{n}/status-updates", new { current_status = msg, visibility = "public", status = "resolved" }, ct);
                r = await api.GetAsync($"{Base}/{n}", ct);
            }
            else
            {
                r = await api.PostAsync($"{Base}/{n}/resolve", new { message = msg }, ct);
            }
            return PrintIncident(ctx, r, $"Resolved incident #{n}. Next: wk incident postmortem {n} --root-cause ... --lessons ...");
        });
        return cmd;
    }

    private static Command Reopen(WkConsole io, Globals g)
    {
        var id = IdArgument();
        var message = Text("--message", "Why it is reopened");
        var cmd = new Command("reopen", "Reopen a resolved incident (back to investigating)") { id, message };
        cmd.Run(io, g, async (ctx, ct) =>
        {
            var r = await ctx.Api().PostAsync($"{Base}/{ctx.Get(id)}/reopen", new { message = ctx.Get(message) }, ct);
            return PrintIncident(ctx, r, $"Reopened incident #{ctx.Get(id)}.");
        });
        return cmd;
    }

    private static Command Note(WkConsole io, Globals g)
    {
        var id = IdArgument();
        var text = new Argument<string>("text") { Description = "The note (@file or @- to read it)", HelpName = "TEXT" };
        var cmd = new Command("note", "Add a note to the incident's timeline") { id, text };
        cmd.Run(io, g, async (ctx, ct) =>
        {
            var r = await ctx.Api().PostAsync($"{Base}/{ctx.Get(id)}/notes", new { text = LongText(ctx, ctx.Get(text), "TEXT") }, ct);
            return ctx.Print(r, () => ctx.Line($"Note added to incident #{ctx.Get(id)}."));
        });
        return cmd;
    }

    private static Command Timeline(WkConsole io, Globals g)
    {
        var id = IdArgument();
        var cmd = new Command("timeline", "Show the incident's timeline") { id };
        cmd.Run(io, g, async (ctx, ct) =>
        {
            var r = await ctx.Api().GetAsync($"{Base}/{ctx.Get(id)}/timeline", ct);
            return ctx.Print(r, () =>
            {
                var t = Fmt.Table("TIME", "AUTHOR", "KIND", "MESSAGE");
                foreach (var e in r.As<List<TimelineDto>>())
                    t.Row(e.At.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture), e.Author, e.Kind, e.Message);
                ctx.Write(t);
            });
        });
        return cmd;
    }

    // ------------------------------------------------------------------ checklist

    private static Command Checklist(WkConsole io, Globals g)
    {
        var id = IdArgument();
        var cmd = new Command("checklist", "Show the incident response checklist by phase; check or uncheck items") { id };
        cmd.Run(io, g, async (ctx, ct) =>
        {
            var r = await ctx.Api().GetAsync($"{Base}/{ctx.Get(id)}/checklist", ct);
            return ctx.Print(r, () => RenderChecklist(ctx, r.As<ChecklistDto>()));
        });
        cmd.Subcommands.Add(CheckItems(io, g, "check", true));
        cmd.Subcommands.Add(CheckItems(io, g, "uncheck", false));
        return cmd;
    }

    private static Command CheckItems(WkConsole io, Globals g, string name, bool done)
    {
        var id = IdArgument();
        var items = IdsArgument("item-id", "Checklist item ids (the ITEM column of 'wk incident checklist ID')");
        var cmd = new Command(name, done ? "Mark checklist items done" : "Mark checklist items not done") { id, items };
        cmd.Run(io, g, async (ctx, ct) =>
        {
            ApiResponse? r = null;
            foreach (var item in ctx.Get(items))
                r = await ctx.Api().PostAsync($"{Base}/{ctx.Get(id)}/checklist/{item}", new { done }, ct);
            return ctx.Print(r!, () => RenderChecklist(ctx, r!.As<ChecklistDto>()));
        });
        return cmd;
    }

    private static void RenderChecklist(Ctx ctx, ChecklistDto c)
    {
        var t = Fmt.Table("ITEM", "", "TASK", "DONE BY");
        foreach (var p in c.Phases)
        {
            var state = p.Done == p.Total ? "complete" : p.Overdue ? $"OVERDUE since {Fmt.Time(p.DueAt)}" : $"due {Fmt.Time(p.DueAt)}";
            t.AddRow(Fmt.Text(""), Fmt.Text(""), new Markup($"[bold]{Fmt.Esc(p.Title)}[/] {Fmt.Esc($"({p.Done}/{p.Total}, {state})")}"), Fmt.Text(""));
            foreach (var i in p.Items)
            {
                t.Row(i.Id.ToString(CultureInfo.InvariantCulture), i.Done ? "[x]" : i.Overdue ? "[!]" : "[ ]", i.Text,
                    i.Done ? $"{i.DoneBy} {Fmt.Time(i.DoneAt)}" : "");
            }
        }
        ctx.Write(t);
        ctx.Line($"{c.Done}/{c.Total} done" + (c.Overdue > 0 ? $", {c.Overdue} overdue" : "") + $" ({c.Checklist} checklist)");
    }

    // ------------------------------------------------------------------ postmortem and action items

    private static Command Postmortem(WkConsole io, Globals g)
    {
        var id = IdArgument();
        var summary = Text("--summary", "Set the summary (@file or @- to read it)");
        var impact = Text("--impact", "Set the impact (@file or @- to read it)");
        var rootCause = Text("--root-cause", "Set the root cause (@file or @- to read it)");
        var lessons = Text("--lessons", "Set the lessons learned (@file or @- to read it)");
        var cmd = new Command("postmortem", "Print the postmortem as Markdown; with --summary/--impact/--root-cause/--lessons, edit it first")
        {
            id, summary, impact, rootCause, lessons,
        };
        cmd.Aliases.Add("pm");
        cmd.Run(io, g, async (ctx, ct) =>
        {
            var path = $"{Base}/{ctx.Get(id)}/postmortem";
            var body = new
            {
                summary = LongText(ctx, ctx.Get(summary), "--summary"),
                impact = LongText(ctx, ctx.Get(impact), "--impact"),
                root_cause = LongText(ctx, ctx.Get(rootCause), "--root-cause"),
                lessons_learned = LongText(ctx, ctx.Get(lessons), "--lessons"),
            };
            var edit = body.summary is not null || body.impact is not null || body.root_cause is not null || body.lessons_learned is not null;
            var r = edit ? await ctx.Api().PutAsync(path, body, ct) : await ctx.Api().GetAsync(path, ct);
            return ctx.Print(r, () => ctx.Line(r.As<PostmortemDto>().Markdown.TrimEnd()));
        });
        return cmd;
    }

    private static Command ActionItem(WkConsole io, Globals g)
    {
        var cmd = new Command("action-item", "Postmortem action items: add, list, done");
        cmd.Aliases.Add("action-items");

        var addId = IdArgument();
        var title = new Option<string>("--title", "-t") { Description = "What will be done", Required = true, HelpName = "TEXT" };
        var owner = new Option<string>("--owner") { Description = "Who owns it", Required = true, HelpName = "NAME" };
        var due = Text("--due", "Due date or time (2026-12-01, RFC 3339) or a duration from now (14d)", "WHEN");
        var add = new Command("add", "Add an action item to an incident") { addId, title, owner, due };
        add.Run(io, g, async (ctx, ct) =>
        {
            var dueAt = ctx.Get(due) is { } d
                ? TimeArgs.TryParseDuration(d, out var span) ? ctx.Now + span : TimeArgs.Time(d, "--due")
                : (DateTimeOffset?)null;
            var r = await ctx.Api().PostAsync($"{Base}/{ctx.Get(addId)}/action-items",
                new { title = ctx.Get(title), owner = ctx.Get(owner), due_at = dueAt is { } x ? TimeArgs.Rfc3339(x) : null }, ct);
            return ctx.Print(r, () =>
            {
                var a = r.As<ActionItemDto>();
                ctx.Line($"Added action item {a.Id} to incident #{a.IncidentId}: {a.Title} (owner {a.Owner}{(a.DueAt is { } at ? ", due " + Fmt.Time(at) : "")})");
            });
        });

        var listId = new Argument<long?>("id")
        {
            Description = "Incident id; without it, action items of all incidents",
            Arity = ArgumentArity.ZeroOrOne,
            HelpName = "ID",
            CustomParser = r =>
            {
                var t = r.Tokens.Count > 0 ? r.Tokens[0].Value : "";
                if (long.TryParse(t.TrimStart('#'), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0) return n;
                r.AddError($"'{t}' is not a valid id (expected a number such as 12)");
                return null;
            },
        };
        var status = Text("--status", "open, in_progress, done or cancelled (all incidents only)", "STATUS");
        var list = new Command("list", "List action items") { listId, status };
        list.Aliases.Add("ls");
        list.Run(io, g, async (ctx, ct) =>
        {
            var incident = ctx.Parse.GetValue(listId);
            var path = incident is { } n ? $"{Base}/{n}/action-items" : "api/v1/action-items" + new Query().Add("status", ctx.Get(status));
            var r = await ctx.Api().GetAsync(path, ct);
            return ctx.Print(r, () =>
            {
                var items = r.As<List<ActionItemDto>>();
                if (incident is not null && ctx.Get(status) is { } s) items = items.Where(a => a.Status == s).ToList();
                if (items.Count == 0)
                {
                    ctx.Line("No action items.");
                    return;
                }
                var t = Fmt.Table("ID", "INCIDENT", "TITLE", "OWNER", "DUE", "STATUS");
                foreach (var a in items)
                {
                    t.Row(a.Id.ToString(CultureInfo.InvariantCulture), "#" + a.IncidentId.ToString(CultureInfo.InvariantCulture), a.Title, a.Owner,
                        Fmt.Time(a.DueAt), a.Overdue ? a.Status + " (OVERDUE)" : a.Status);
                }
                ctx.Write(t);
            });
        });

        var doneId = IdArgument();
        var itemId = IdArgument("item-id", "Action item id");
        var doneStatus = Text("--status", "Set this status instead of done: open, in_progress, done, cancelled", "STATUS");
        var done = new Command("done", "Mark an action item done (or another --status)") { doneId, itemId, doneStatus };
        done.Run(io, g, async (ctx, ct) =>
        {
            var r = await ctx.Api().PatchAsync($"{Base}/{ctx.Get(doneId)}/action-items/{ctx.Get(itemId)}", new { status = ctx.Get(doneStatus) ?? "done" }, ct);
            return ctx.Print(r, () =>
            {
                var a = r.As<ActionItemDto>();
                ctx.Line($"Action item {a.Id} on incident #{a.IncidentId} is now {a.Status}: {a.Title}");
            });
        });

        cmd.Subcommands.Add(add);
        cmd.Subcommands.Add(list);
        cmd.Subcommands.Add(done);
        return cmd;
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
