using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Watchkeeper.Cli;

/// <summary><c>wk incident update|status-update|ack|assign|resolve|reopen|note|timeline</c>: changes during the response.</summary>
public static partial class IncidentCommands
{
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
}
