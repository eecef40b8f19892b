using System.Security.Claims;
using Watchkeeper.Server.Platform;
using Watchkeeper.Server.Web;
using static Watchkeeper.Server.Web.Html;

namespace Watchkeeper.Server.Incidents.Ui;

/// <summary>
/// Resolving an incident is a confirmation step that works without JavaScript: <c>GET /incidents/{id}/resolve</c> asks
/// for the resolution message (required) and an optional final public update; the post resolves and publishes it.
/// </summary>
public static class IncidentResolvePage
{
    public static void Map(RouteGroupBuilder web)
    {
        web.MapGet("/incidents/{id:long}/resolve", async (long id, HttpContext http, IncidentService s) => await Form(new PageContext(http), s, id, null))
            .RequireAuthorization(Policies.Responder);
        web.MapPost("/incidents/{id:long}/resolve", async (long id, HttpContext http, IFormCollection f, IncidentService s, ClaimsPrincipal u) =>
        {
            long? version = long.TryParse(f["version"], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var v) ? v : null;
            try
            {
                await s.ResolveAsync(id, f["message"], f["public_update"], version, u.Actor(), requireMessage: true, ct: http.RequestAborted);
            }
            catch (Exception ex) when (IsDomainError(ex))
            {
                return await Form(new PageContext(http), s, id, FormError.From(ex, "resolve", f), StatusFor(ex));
            }
            return Results.Redirect($"/incidents/{id}?tab=overview");
        }).RequireAuthorization(Policies.Responder);
    }

    private static async Task<IResult> Form(PageContext ctx, IncidentService s, long id, FormError? err, int status = 200)
    {
        var i = await s.GetAsync(id, ctx.Http.RequestAborted);
        if (i is null) return ErrorPages.Page(ctx.Http, 404, $"Incident {id} not found.", heading: $"Incident {id} not found");
        var updates = await s.StatusUpdatesAsync(id, "public", ctx.Http.RequestAborted);
        return Pages.Render<ResolvePage>(status, new()
        {
            [nameof(ResolvePage.Ctx)] = ctx,
            [nameof(ResolvePage.Incident)] = i,
            [nameof(ResolvePage.LastPublic)] = updates.Count == 0 ? null : updates[^1],
            [nameof(ResolvePage.Err)] = err,
        });
    }
}
