using System.Security.Claims;
using Watchkeeper.Server.Web;
using static Watchkeeper.Server.Web.Html;

namespace Watchkeeper.Server.Platform.Ui;

/// <summary>Users (admin) and each user's own API tokens.</summary>
public static class AccountPages
{
    public static void Map(RouteGroupBuilder web)
    {
        web.MapGet("/users", async (HttpContext http, Users users) => await UsersPage(new PageContext(http), users, null, null)).RequireAuthorization(Policies.Admin);
        web.MapPost("/users", CreateUser).RequireAuthorization(Policies.Admin);
        web.MapPost("/users/{username}", UpdateUser).RequireAuthorization(Policies.Admin);

        web.MapGet("/tokens", async (HttpContext http, Users users) => await TokensPage(new PageContext(http), users, null, null, null)).RequireAuthorization(Policies.Viewer);
        web.MapPost("/tokens", CreateToken).RequireAuthorization(Policies.Viewer);
        web.MapPost("/tokens/{id:long}/revoke", RevokeToken).RequireAuthorization(Policies.Viewer);
    }

    // ------------------------------------------------------------------ users

    private static async Task<IResult> CreateUser(HttpContext http, IFormCollection f, Users users, ClaimsPrincipal actor)
    {
        string username = f["username"].ToString().Trim(), password = f["password"].ToString(), role = f["role"].ToString();
        try
        {
            if (username.Length is 0 or > 64 || !username.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_'))
                throw new ValidationException("username", "is required: 1-64 letters, digits, '.', '-' or '_'");
            if (password.Length < 8) throw new ValidationException("password", "must be at least 8 characters");
            if (!Roles.IsValid(role)) throw new ValidationException("role", $"must be one of {string.Join(", ", Roles.All)}");
            await users.CreateAsync(username, password, role, actor.Actor(), ct: http.RequestAborted);
        }
        catch (Exception ex) when (IsDomainError(ex))
        {
            return await UsersPage(new PageContext(http), users, FormError.From(ex, "create", f), null, StatusFor(ex));
        }
        return await UsersPage(new PageContext(http), users, null, $"User '{username}' created with role {role}.");
    }

    private static async Task<IResult> UpdateUser(string username, HttpContext http, IFormCollection f, Users users, ClaimsPrincipal actor)
    {
        var role = f["role"].ToString();
        var disabled = f["disabled"].ToString() switch { "true" => true, "false" => false, _ => (bool?)null };
        try
        {
            if (role.Length > 0 && !Roles.IsValid(role)) throw new ValidationException("role", $"must be one of {string.Join(", ", Roles.All)}");
            // The last admin rule (one enabled admin must remain) is Users.UpdateAsync's, the same as the API's.
            var u = await users.UpdateAsync(username, role.Length > 0 ? role : null, disabled, null, actor.Actor(), actor.FindFirstValue(Sessions.Claim), ct: http.RequestAborted)
                ?? throw new NotFoundException($"user '{username}' not found");
            return await UsersPage(new PageContext(http), users, null,
                disabled is { } d ? $"User '{u.Username}' {(d ? "disabled" : "enabled")}." : $"User '{u.Username}' now has role {u.Role}.");
        }
        catch (Exception ex) when (IsDomainError(ex))
        {
            return await UsersPage(new PageContext(http), users, FormError.From(ex, "update", f), null, StatusFor(ex));
        }
    }

    private static async Task<IResult> UsersPage(PageContext ctx, Users users, FormError? err, string? notice, int status = 200) =>
        Pages.Render<UsersPage>(status, new()
        {
            [nameof(Ui.UsersPage.Ctx)] = ctx,
            [nameof(Ui.UsersPage.List)] = await users.ListAsync(ctx.Http.RequestAborted),
            [nameof(Ui.UsersPage.Err)] = err,
            [nameof(Ui.UsersPage.Notice)] = notice,
        });

    // ------------------------------------------------------------------ tokens

    private static async Task<IResult> CreateToken(HttpContext http, IFormCollection f, Users users, ClaimsPrincipal actor)
    {
        var name = f["name"].ToString().Trim();
        var expires = f["expires_in"].ToString().Trim();
        try
        {
            if (name.Length is 0 or > 100) throw new ValidationException("name", "is required (at most 100 characters)");
            TimeSpan? ttl = null;
            if (expires.Length > 0)
                ttl = Duration.TryParse(expires, out var d) ? d.Value : throw new ValidationException("expires_in", "is not a duration (e.g. 12h, 30d, 1y)");
            var t = await users.CreateTokenAsync(actor.Actor(), name, actor.Actor(), ttl, ct: http.RequestAborted);
            http.Response.Headers.CacheControl = "no-store";
            return await TokensPage(new PageContext(http), users, null, null, t);
        }
        catch (Exception ex) when (IsDomainError(ex))
        {
            return await TokensPage(new PageContext(http), users, FormError.From(ex, "token", f), null, null, StatusFor(ex));
        }
    }

    private static async Task<IResult> RevokeToken(long id, HttpContext http, Users users, ClaimsPrincipal actor)
    {
        try
        {
            // Only the owner's tokens are listed here; an admin revokes other users' tokens through the API.
            var mine = await users.ListTokensAsync(actor.Actor(), ct: http.RequestAborted);
            if (!mine.Any(t => t.Id == id)) throw new NotFoundException($"token {id} not found among your tokens");
            await users.RevokeTokenAsync(id, actor.Actor(), false, ct: http.RequestAborted);
            return await TokensPage(new PageContext(http), users, null, $"Token {id} revoked.", null);
        }
        catch (Exception ex) when (IsDomainError(ex))
        {
            return await TokensPage(new PageContext(http), users, FormError.From(ex, "revoke", null), null, null, StatusFor(ex));
        }
    }

    private static async Task<IResult> TokensPage(PageContext ctx, Users users, FormError? err, string? notice, NewToken? created, int status = 200) =>
        Pages.Render<TokensPage>(status, new()
        {
            [nameof(Ui.TokensPage.Ctx)] = ctx,
            [nameof(Ui.TokensPage.List)] = await users.ListTokensAsync(ctx.UserName, ctx.Http.RequestAborted),
            [nameof(Ui.TokensPage.Err)] = err,
            [nameof(Ui.TokensPage.Notice)] = notice,
            [nameof(Ui.TokensPage.Created)] = created,
        });
}
