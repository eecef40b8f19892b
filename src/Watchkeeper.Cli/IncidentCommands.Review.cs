using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Watchkeeper.Cli;

/// <summary><c>wk incident checklist|check|uncheck|postmortem|action-item</c>: the checklist and the review after the incident.</summary>
public static partial class IncidentCommands
{
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
