using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Monitoring.Ui;

/// <summary>The monitoring pages: <c>/targets</c> and <c>/query</c>, plus their scripts and styles.</summary>
public static class MonitoringUi
{
    public static void MapMonitoringUi(this WebApplication app)
    {
        app.MapMonitoringAssets();
        var pages = app.MapGroup("").RequireAuthorization(Policies.Viewer).ExcludeFromDescription();
        pages.MapGet("/targets", (HttpContext http, MetricsRuntime runtime, TimeProvider time, string? state, string? refresh) =>
            TargetsPage.Handle(http, runtime, time, state, int.TryParse(refresh, out var r) ? r : null));
        pages.MapGet("/query", (HttpContext http, MetricsRuntime runtime, TimeProvider time, string? expr, string? range, string? step, string? tab) =>
            QueryPage.Handle(http, runtime, time, expr, range, step, tab));
    }
}
