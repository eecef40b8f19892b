using Watchkeeper.Server.Platform;
using Watchkeeper.Server.Web;
using static Watchkeeper.Server.Web.Html;

namespace Watchkeeper.Server.Notifications.Ui;

/// <summary>/notifications: the outbox (status, attempts with code and latency) and the receivers, with which are unconfigured.</summary>
public static class NotificationPages
{
    public static void AddNotificationPages(this IServiceCollection services) =>
        services.AddNavItem(new NavItem("notifications", "Notifications", "/notifications", 160));

    public static void Map(RouteGroupBuilder web)
    {
        web.MapGet("/notifications", List).RequireAuthorization(Policies.Viewer);
        web.MapGet("/notifications/{id:long}", Show).RequireAuthorization(Policies.Viewer);
    }

    private static async Task<IResult> List(HttpContext http, NotificationQueries q, IReceiverSource receivers, string? status, string? receiver, long? before)
    {
        var ctx = new PageContext(http);
        string? error = null;
        OutboxPage? page = null;
        var st = string.IsNullOrWhiteSpace(status) ? null : status.Trim();
        var rc = string.IsNullOrWhiteSpace(receiver) ? null : receiver.Trim();
        try
        {
            page = await q.ListAsync(st, rc, 50, before, http.RequestAborted);
        }
        catch (ValidationException ex)
        {
            error = ErrorMessage(ex);
        }
        return Pages.Render<NotificationListPage>(error is null ? 200 : 400, new()
        {
            [nameof(NotificationListPage.Ctx)] = ctx,
            [nameof(NotificationListPage.Page)] = page,
            [nameof(NotificationListPage.Receivers)] = ReceiverInfo.List(receivers),
            [nameof(NotificationListPage.Error)] = error,
            [nameof(NotificationListPage.Status)] = st,
            [nameof(NotificationListPage.Receiver)] = rc,
            [nameof(NotificationListPage.Before)] = before,
        });
    }

    private static async Task<IResult> Show(long id, HttpContext http, NotificationQueries q)
    {
        var ctx = new PageContext(http);
        try
        {
            var d = await q.GetAsync(id, http.RequestAborted);
            return Pages.Render<NotificationDetailPage>(new() { [nameof(NotificationDetailPage.Ctx)] = ctx, [nameof(NotificationDetailPage.Detail)] = d });
        }
        catch (NotFoundException ex)
        {
            return Pages.Render<NotificationDetailPage>(404, new() { [nameof(NotificationDetailPage.Ctx)] = ctx, [nameof(NotificationDetailPage.Error)] = ex.Message });
        }
    }
}
