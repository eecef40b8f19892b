using Watchkeeper.Server.Platform;
using Watchkeeper.Server.Web;

namespace Watchkeeper.Server.Monitoring.Ui;

/// <summary>The monitoring pages: <c>/targets</c> and <c>/query</c> (their styles and scripts are in wwwroot).</summary>
public static class MonitoringUi
{
    public static void AddMonitoringUi(this IServiceCollection services)
    {
        services.AddNavItem(new NavItem("targets", "Targets", "/targets", 300));
        services.AddNavItem(new NavItem("query", "Query", "/query", 310));
    }

    public static void MapMonitoringUi(this WebApplication app)
    {
        var pages = app.MapPages().RequireAuthorization(Policies.Viewer);
        pages.MapGet("/targets", (HttpContext http, MetricsRuntime runtime, string? state, string? refresh) =>
            TargetsPage.Handle(http, runtime, state, int.TryParse(refresh, out var r) ? r : null));
        pages.MapGet("/query", (HttpContext http, MetricsRuntime runtime, string? expr, string? range, string? step, string? tab, string? end, string? time, string? unit) =>
            QueryPage.Handle(http, runtime, expr, range, step, tab, new QueryTimes(end, time, unit)));
    }
}
