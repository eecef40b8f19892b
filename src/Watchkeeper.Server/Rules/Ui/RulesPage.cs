using Watchkeeper.Server.Web;

namespace Watchkeeper.Server.Rules.Ui;

/// <summary><c>/rules</c>: rule groups and their rules with state, health, last evaluation, duration and error, as Prometheus's rules page.</summary>
public static class RulesPage
{
    public static IResult Handle(HttpContext http, RulesRuntime runtime, TimeProvider time, string? state) =>
        Pages.Render<RulesView>(new()
        {
            [nameof(RulesView.Ctx)] = new PageContext(http),
            [nameof(RulesView.Groups)] = runtime.Manager?.Groups ?? [],
            [nameof(RulesView.Now)] = time.GetUtcNow(),
            [nameof(RulesView.State)] = state is "firing" or "pending" or "inactive" or "unhealthy" ? state : null,
            [nameof(RulesView.QuerySource)] = runtime.QuerySourceUrl,
            [nameof(RulesView.Follower)] = !runtime.Evaluating && http.RequestServices.GetRequiredService<Platform.ILeadership>() is { IsLeader: false },
        });

    internal static string Ago(DateTimeOffset? t, DateTimeOffset now) =>
        t is null ? "never" : Monitoring.Ui.TargetsPage.Relative(now - t.Value);
}
