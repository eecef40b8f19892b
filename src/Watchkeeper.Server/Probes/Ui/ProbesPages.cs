using Watchkeeper.Server.Platform;
using Watchkeeper.Server.Uptime;
using Watchkeeper.Server.Web;

namespace Watchkeeper.Server.Probes.Ui;

/// <summary>One check on the /probes page with its 90 daily bars (from the roll-ups of its service and component).</summary>
public sealed record ProbeCard(ProbeStatus Status, IReadOnlyList<UptimeBucket> Days);

/// <summary><c>/probes</c>: every check, its state, last result and latency, and 90 days of availability.</summary>
public static class ProbesPages
{
    public const int BarDays = 90;

    public static void AddProbesUi(this IServiceCollection services) =>
        services.AddNavItem(new NavItem("probes", "Probes", "/probes", 305));

    public static void Map(WebApplication app)
    {
        app.MapPages().RequireAuthorization(Policies.Viewer).MapGet("/probes", Show);
    }

    private static async Task<IResult> Show(HttpContext http, ProbeScheduler scheduler, IUptimeQuery uptime, string? state, CancellationToken ct)
    {
        var ctx = new PageContext(http);
        var statuses = scheduler.Statuses();
        var today = DateOnly.FromDateTime(ctx.Now.UtcDateTime);
        var bars = new Dictionary<(string, string), IReadOnlyList<UptimeBucket>>();
        var cards = new List<ProbeCard>();
        foreach (var s in statuses)
        {
            if (state == "down" && s.Success != false) continue;
            if (!bars.TryGetValue((s.Service, s.Component), out var days))
                bars[(s.Service, s.Component)] = days = await uptime.DailyAsync(s.Service, s.Component.Length > 0 ? s.Component : null, today.AddDays(-(BarDays - 1)), today, ct);
            cards.Add(new ProbeCard(s, days));
        }
        return Pages.Render<ProbesView>(new()
        {
            [nameof(ProbesView.Ctx)] = ctx,
            [nameof(ProbesView.Cards)] = cards,
            [nameof(ProbesView.Total)] = statuses.Count,
            [nameof(ProbesView.Down)] = statuses.Count(s => s.Success == false),
            [nameof(ProbesView.DownOnly)] = state == "down",
            [nameof(ProbesView.Target)] = uptime.TargetPercent,
        });
    }
}
