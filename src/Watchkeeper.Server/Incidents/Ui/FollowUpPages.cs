using Watchkeeper.Server.Platform;
using Watchkeeper.Server.Web;
using static Watchkeeper.Server.Web.Html;

namespace Watchkeeper.Server.Incidents.Ui;

/// <summary>Lists across incidents: postmortems (<c>/postmortems</c>) and action items (<c>/action-items</c>), for viewers.</summary>
public static class FollowUpPages
{
    public static void AddFollowUpPages(this IServiceCollection services)
    {
        services.AddNavItem(new NavItem("postmortems", "Postmortems", "/postmortems", 120));
        services.AddNavItem(new NavItem("action-items", "Action items", "/action-items", 130));
    }

    public static void Map(RouteGroupBuilder web)
    {
        web.MapGet("/postmortems", async (HttpContext http, IncidentService s, string? state) =>
        {
            string? error = null;
            IReadOnlyList<PostmortemListItem> items = [];
            try
            {
                items = await s.PostmortemsAsync(string.IsNullOrWhiteSpace(state) ? null : state.Trim(), ct: http.RequestAborted);
            }
            catch (ValidationException ex)
            {
                error = ErrorMessage(ex);
            }
            return Pages.Render<PostmortemListPage>(error is null ? 200 : 400, new()
            {
                [nameof(PostmortemListPage.Ctx)] = new PageContext(http),
                [nameof(PostmortemListPage.Items)] = items,
                [nameof(PostmortemListPage.State)] = state,
                [nameof(PostmortemListPage.Error)] = error,
            });
        }).RequireAuthorization(Policies.Viewer);

        web.MapGet("/action-items", async (HttpContext http, IncidentService s, string? status, string? owner, string? overdue) =>
        {
            // With no filter the list shows what is still to do.
            var st = http.Request.Query.ContainsKey("status") ? status : "open";
            string? error = null;
            IReadOnlyList<ActionItemListItem> items = [];
            try
            {
                items = await s.ActionItemsAcrossAsync(st, owner, overdue is "1" or "on" or "true", http.RequestAborted);
            }
            catch (ValidationException ex)
            {
                error = ErrorMessage(ex);
            }
            return Pages.Render<ActionItemListPage>(error is null ? 200 : 400, new()
            {
                [nameof(ActionItemListPage.Ctx)] = new PageContext(http),
                [nameof(ActionItemListPage.Items)] = items,
                [nameof(ActionItemListPage.Owners)] = await s.ActionItemOwnersAsync(http.RequestAborted),
                [nameof(ActionItemListPage.Status)] = st,
                [nameof(ActionItemListPage.Owner)] = owner,
                [nameof(ActionItemListPage.Overdue)] = overdue is "1" or "on" or "true",
                [nameof(ActionItemListPage.Error)] = error,
            });
        }).RequireAuthorization(Policies.Viewer);
    }
}
