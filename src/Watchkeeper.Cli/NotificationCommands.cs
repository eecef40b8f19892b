using System.CommandLine;
using System.Globalization;

namespace Watchkeeper.Cli;

/// <summary><c>wk notifications list|show|receivers</c>: the notification outbox, each try, and which receivers are unconfigured.</summary>
public static class NotificationCommands
{
    private const string Base = "api/v1/notifications";

    public sealed record ItemDto(long Id, string Receiver, string Integration, string Kind, string GroupKey, string DedupKey, string? Action, string Status,
        int AlertsFiring, int AlertsResolved, DateTimeOffset CreatedAt, DateTimeOffset? NextAttemptAt, int Attempts, int? LastStatusCode, string? LastError,
        DateTimeOffset? FinishedAt);

    public sealed record PageDto(List<ItemDto> Items, long Total, Dictionary<string, long> ByStatus);

    public sealed record AttemptDto(int Attempt, DateTimeOffset StartedAt, long LatencyMs, string Outcome, int? StatusCode, string? Error, string Sender);

    public sealed record AlertDto(string Status, Dictionary<string, string> Labels, Dictionary<string, string> Annotations, DateTimeOffset StartsAt);

    public sealed record DataDto(List<AlertDto> Alerts, int TruncatedAlerts);

    public sealed record DetailDto(ItemDto Item, List<AttemptDto> Attempts, DataDto Data);

    public sealed record IntegrationDto(string Receiver, string Integration, string Kind, bool Configured, string? Unconfigured, bool SendResolved);

    public static Command Build(WkConsole io, Globals g)
    {
        var cmd = new Command("notifications", "Notifications: what was sent to which receiver, each try, and which receivers are unconfigured");
        cmd.Aliases.Add("notification");

        var status = new Option<string?>("--status") { Description = "Only this status", HelpName = "STATUS" };
        status.AcceptOnlyFromAmong("pending", "delivered", "failed", "skipped");
        var receiver = new Option<string?>("--receiver") { Description = "Only this receiver", HelpName = "NAME" };
        var limit = new Option<int>("--limit") { Description = "At most this many, newest first", DefaultValueFactory = _ => 50, HelpName = "N" };
        var list = new Command("list", "List notifications, newest first") { status, receiver, limit };
        list.Aliases.Add("ls");
        list.Run(io, g, async (ctx, ct) =>
        {
            if (ctx.Get(limit) is < 1 or > 1000) throw WkException.Usage("--limit must be between 1 and 1000");
            var q = new Query().Add("status", ctx.Get(status)).Add("receiver", ctx.Get(receiver)).Add("limit", ctx.Get(limit).ToString(CultureInfo.InvariantCulture));
            var r = await ctx.Api().GetAsync(Base + q, ct);
            return ctx.Print(r, () =>
            {
                var p = r.As<PageDto>();
                if (p.Items.Count == 0)
                {
                    ctx.Line("No notifications.");
                    return;
                }
                var t = Fmt.Table("ID", "CREATED", "RECEIVER", "INTEGRATION", "ALERTS", "STATUS", "TRIES", "LAST RESULT", "NEXT TRY");
                foreach (var i in p.Items)
                {
                    t.Row(N(i.Id), Fmt.Time(i.CreatedAt), i.Receiver, i.Integration, $"{i.AlertsFiring} firing" + (i.AlertsResolved > 0 ? $", {i.AlertsResolved} resolved" : ""),
                        i.Status, N(i.Attempts), Fmt.Or(Short(i)), i.NextAttemptAt is { } n ? Fmt.Relative(n, ctx.Now) : "");
                }
                ctx.Write(t);
                ctx.Line($"Showing {p.Items.Count} of {p.Total}; " + string.Join(", ", p.ByStatus.OrderBy(x => x.Key, StringComparer.Ordinal).Select(x => $"{x.Value} {x.Key}")));
            });
        });

        var id = IncidentCommands.IdArgument("id", "Notification id (the ID column of 'wk notifications list')");
        var show = new Command("show", "One notification: its state, every try with status code and latency, and its alerts") { id };
        show.Run(io, g, async (ctx, ct) =>
        {
            var r = await ctx.Api().GetAsync($"{Base}/{ctx.Get(id)}", ct);
            return ctx.Print(r, () =>
            {
                var d = r.As<DetailDto>();
                var i = d.Item;
                ctx.Line($"Notification {i.Id}: {i.Status} — {i.Receiver} {i.Integration}");
                ctx.Line($"  group {i.GroupKey}");
                ctx.Line($"  dedup key {i.DedupKey}");
                ctx.Line($"  created {Fmt.Time(i.CreatedAt)}" + (i.NextAttemptAt is { } n ? $", next try {Fmt.Time(n)}" : "") + (i.FinishedAt is { } f ? $", finished {Fmt.Time(f)}" : ""));
                if (d.Attempts.Count == 0) ctx.Line("Not tried yet.");
                else
                {
                    var t = Fmt.Table("#", "STARTED", "OUTCOME", "CODE", "LATENCY", "ERROR");
                    foreach (var a in d.Attempts)
                        t.Row(N(a.Attempt), Fmt.Time(a.StartedAt), a.Outcome, a.StatusCode is { } c ? N(c) : "", N(a.LatencyMs) + " ms", Fmt.Or(a.Error, ""));
                    ctx.Write(t);
                }
                ctx.Line($"Alerts ({d.Data.Alerts.Count}{(d.Data.TruncatedAlerts > 0 ? $" + {d.Data.TruncatedAlerts} truncated" : "")}):");
                foreach (var a in d.Data.Alerts)
                    ctx.Line($"  {a.Status,-8} {string.Join(", ", a.Labels.OrderBy(x => x.Key, StringComparer.Ordinal).Select(x => x.Key + "=" + x.Value))}");
            });
        });

        var receivers = new Command("receivers", "The receivers' integrations, and which are unconfigured (their notifications are skipped)");
        receivers.Run(io, g, async (ctx, ct) =>
        {
            var r = await ctx.Api().GetAsync(Base + "/receivers", ct);
            return ctx.Print(r, () =>
            {
                var list = r.As<List<IntegrationDto>>();
                if (list.Count == 0)
                {
                    ctx.Line("No receivers are configured.");
                    return;
                }
                var t = Fmt.Table("RECEIVER", "INTEGRATION", "KIND", "STATE", "RESOLVED");
                foreach (var x in list)
                    t.Row(x.Receiver, x.Integration, x.Kind, x.Configured ? "configured" : "unconfigured: " + x.Unconfigured, x.SendResolved ? "sent" : "not sent");
                ctx.Write(t);
                var n = list.Count(x => !x.Configured);
                if (n > 0) ctx.Line($"{n} unconfigured integration(s): set their URL, routing key or SMTP host to send.");
            });
        });

        cmd.Subcommands.Add(list);
        cmd.Subcommands.Add(show);
        cmd.Subcommands.Add(receivers);
        return cmd;
    }

    private static string Short(ItemDto i)
    {
        var s = (i.LastStatusCode is { } c ? c.ToString(CultureInfo.InvariantCulture) + " " : "") + (i.LastError ?? "");
        return s.Length > 60 ? s[..59] + "…" : s.Trim();
    }

    private static string N(long n) => n.ToString(CultureInfo.InvariantCulture);
}
