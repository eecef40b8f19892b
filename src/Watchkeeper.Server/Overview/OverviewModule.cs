using System.Globalization;
using Watchkeeper.Server.Overview.Ui;
using Watchkeeper.Server.Platform;
using Watchkeeper.Server.Web;

namespace Watchkeeper.Server.Overview;

/// <summary>
/// One part of the landing page, contributed by a feature (alerts, services, incidents, on-call): the component
/// that renders it and the parameters it needs, loaded per request. Sections render in <see cref="Order"/>.
/// </summary>
public interface IOverviewSection
{
    int Order { get; }
    Type Component { get; }
    Task<Dictionary<string, object?>> LoadAsync(PageContext ctx, CancellationToken ct);
}

/// <summary>
/// The landing page (<c>/</c>): the state of the system first, as an operator needs it when paged. Features
/// register their sections with <see cref="AddOverviewSection{T}"/>; the page renders those in order.
/// </summary>
public static class OverviewModule
{
    /// <summary>Seconds between reloads by default (the page is a wall display as much as a page).</summary>
    public const int DefaultRefreshSeconds = 30;

    public static void AddOverview(this WebApplicationBuilder builder)
    {
        builder.Services.AddNavItem(new NavItem("overview", "Overview", "/", 50));
        builder.Services.AddOverviewSection<ServicesSection>();
        builder.Services.AddOverviewSection<OpenIncidentsSection>();
    }

    public static IServiceCollection AddOverviewSection<T>(this IServiceCollection services) where T : class, IOverviewSection
    {
        services.AddSingleton<IOverviewSection, T>();
        return services;
    }

    public static void Map(RouteGroupBuilder web) =>
        web.MapGet("/", async (HttpContext http, IEnumerable<IOverviewSection> sections, int? refresh) =>
        {
            var ctx = new PageContext(http);
            var seconds = refresh is null ? DefaultRefreshSeconds : refresh.Value <= 0 ? 0 : Math.Clamp(refresh.Value, 5, 3600);
            if (seconds > 0) http.Response.Headers["Refresh"] = seconds.ToString(CultureInfo.InvariantCulture);
            var loaded = new List<(Type, Dictionary<string, object?>)>();
            foreach (var s in sections.OrderBy(s => s.Order))
            {
                var p = await s.LoadAsync(ctx, http.RequestAborted);
                p["Ctx"] = ctx;
                loaded.Add((s.Component, p));
            }
            return Pages.Render<OverviewPage>(new()
            {
                [nameof(OverviewPage.Ctx)] = ctx,
                [nameof(OverviewPage.Sections)] = loaded,
                [nameof(OverviewPage.RefreshSeconds)] = seconds,
            });
        }).RequireAuthorization(Policies.Viewer);
}
