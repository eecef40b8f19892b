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
        services.AddNavItem(new NavItem("server-status", "Server status", "/runtime", 950));
    }

    public static void MapMonitoringUi(this WebApplication app)
    {
        var pages = app.MapPages().RequireAuthorization(Policies.Viewer);
        pages.MapGet("/targets", (HttpContext http, MetricsRuntime runtime, string? state, string? refresh) =>
            TargetsPage.Handle(http, runtime, state, int.TryParse(refresh, out var r) ? r : null));
        pages.MapGet("/query", (HttpContext http, MetricsRuntime runtime) => QueryPage.Handle(http, runtime));
        pages.MapGet("/runtime", (HttpContext http, ServerStatus status) => StatusPage(http, status, "runtime"));
        pages.MapGet("/service-discovery", (HttpContext http, ServerStatus status, MetricsRuntime runtime) =>
            StatusPage(http, status, "sd", scrape: runtime.Scrape));
        pages.MapGet("/tsdb-status", (HttpContext http, ServerStatus status, MetricsRuntime runtime, string? limit) =>
        {
            var n = 10;
            if (limit is not null && (!int.TryParse(limit, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out n)
                    || n < 1 || n > Watchkeeper.Metrics.Tsdb.Tsdb.MaxCardinalityLimit))
                throw new ValidationException("limit", $"must be a number from 1 to {Watchkeeper.Metrics.Tsdb.Tsdb.MaxCardinalityLimit}");
            return StatusPage(http, status, "tsdb", runtime.Tsdb.HeadStatus(n), n);
        });
        app.MapPages().RequireAuthorization(Policies.Admin).MapGet("/config", (HttpContext http, ServerStatus status) => StatusPage(http, status, "config"));
    }

    private static IResult StatusPage(HttpContext http, ServerStatus status, string section,
        Watchkeeper.Metrics.Tsdb.HeadCardinality? head = null, int limit = 10, Watchkeeper.Metrics.Scrape.ScrapeManager? scrape = null) =>
        Pages.Render<ServerStatusView>(new()
        {
            [nameof(ServerStatusView.Ctx)] = new PageContext(http),
            [nameof(ServerStatusView.Section)] = section,
            [nameof(ServerStatusView.Status)] = status,
            [nameof(ServerStatusView.Head)] = head,
            [nameof(ServerStatusView.Limit)] = limit,
            [nameof(ServerStatusView.Scrape)] = scrape,
            [nameof(ServerStatusView.IsAdmin)] = PlatformModule.RankOf(http.User) >= 3,
        });
}
