using System.Security.Claims;
using System.Text;
using Watchkeeper.Server.Platform;
using static Watchkeeper.Server.Web.Html;

namespace Watchkeeper.Server.Web;

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
            await users.CreateAsync(username, password, role, actor.Actor());
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
            var u = await users.UpdateAsync(username, role.Length > 0 ? role : null, disabled, null, actor.Actor(), actor.FindFirstValue(Sessions.Claim))
                ?? throw new NotFoundException($"user '{username}' not found");
            return await UsersPage(new PageContext(http), users, null,
                disabled is { } d ? $"User '{u.Username}' {(d ? "disabled" : "enabled")}." : $"User '{u.Username}' now has role {u.Role}.");
        }
        catch (Exception ex) when (IsDomainError(ex))
        {
            return await UsersPage(new PageContext(http), users, FormError.From(ex, "update", f), null, StatusFor(ex));
        }
    }

    private static async Task<IResult> UsersPage(PageContext ctx, Users users, FormError? err, string? notice, int status = 200)
    {
        var list = await users.ListAsync();
        var sb = new StringBuilder();
        sb.Append("<h1>Users</h1>");
        if (notice is not null) sb.Append($"<div class=\"notice\" role=\"status\">{E(notice)}</div>");
        sb.Append("<section class=\"panel\"><table id=\"users\"><thead><tr><th>Username</th><th>Role</th><th>Created</th><th>State</th><th></th></tr></thead><tbody>");
        foreach (var u in list)
        {
            sb.Append($"<tr data-user=\"{E(u.Username)}\"><td><b>{E(u.Username)}</b>{(u.Username == ctx.UserName ? " <span class=\"muted small\">(you)</span>" : "")}</td><td>");
            sb.Append(ctx.FormStart($"/users/{Url(u.Username)}", "inline"));
            sb.Append($"<select name=\"role\" aria-label=\"Role of {E(u.Username)}\">").Append(Options(Roles.All.Select(r => (r, r)), u.Role)).Append("</select> ");
            sb.Append("<button type=\"submit\" class=\"secondary\">Set role</button></form></td>");
            sb.Append($"<td class=\"nowrap\">{Time(u.CreatedAt)}</td><td>{(u.Disabled ? "<span class=\"flag bad\">disabled</span>" : "<span class=\"flag ok\">active</span>")}</td><td>");
            if (u.Username == ctx.UserName)
            {
                sb.Append("</td></tr>");
                continue;
            }
            sb.Append(ctx.FormStart($"/users/{Url(u.Username)}", "inline"));
            sb.Append(u.Disabled
                ? "<input type=\"hidden\" name=\"disabled\" value=\"false\"><button type=\"submit\" class=\"secondary\">Enable</button>"
                : $"<input type=\"hidden\" name=\"disabled\" value=\"true\"><button type=\"submit\" class=\"danger\" data-confirm=\"Disable {E(u.Username)}? Their session and API tokens stop working.\">Disable</button>");
            sb.Append("</form></td></tr>");
        }
        sb.Append("</tbody></table></section>");

        const string F = "create";
        sb.Append("<section class=\"panel\"><h2>Create a user</h2>");
        sb.Append(ctx.FormStart("/users", "row", "create-user"));
        sb.Append($"<div><label for=\"u-name\">Username</label><input type=\"text\" id=\"u-name\" name=\"username\" autocomplete=\"off\" value=\"{E(err?.Value(F, "username", null))}\"{err?.Invalid(F, "username")}></div>");
        sb.Append($"<div><label for=\"u-pass\">Password <span class=\"hint\">(8+ characters)</span></label><input type=\"password\" id=\"u-pass\" name=\"password\" autocomplete=\"new-password\"{err?.Invalid(F, "password")}></div>");
        sb.Append("<div><label for=\"u-role\">Role</label><select id=\"u-role\" name=\"role\">").Append(Options(Roles.All.Select(r => (r, r)), err?.Value(F, "role", Roles.Responder))).Append("</select></div>");
        sb.Append("<button type=\"submit\">Create user</button></form>");
        sb.Append("<p class=\"small muted\">viewer: reads everything · responder: also runs incidents · admin: also manages users and configuration.</p></section>");
        return Page(ctx, "Users", "users", sb.ToString(), status, err?.Message);
    }

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
            var t = await users.CreateTokenAsync(actor.Actor(), name, actor.Actor(), ttl);
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
            var mine = await users.ListTokensAsync(actor.Actor());
            if (!mine.Any(t => t.Id == id)) throw new NotFoundException($"token {id} not found among your tokens");
            await users.RevokeTokenAsync(id, actor.Actor(), false);
            return await TokensPage(new PageContext(http), users, null, $"Token {id} revoked.", null);
        }
        catch (Exception ex) when (IsDomainError(ex))
        {
            return await TokensPage(new PageContext(http), users, FormError.From(ex, "revoke", null), null, null, StatusFor(ex));
        }
    }

    private static async Task<IResult> TokensPage(PageContext ctx, Users users, FormError? err, string? notice, NewToken? created, int status = 200)
    {
        var list = await users.ListTokensAsync(ctx.UserName);
        var sb = new StringBuilder();
        sb.Append("<h1>Your API tokens</h1>");
        if (notice is not null) sb.Append($"<div class=\"notice\" role=\"status\">{E(notice)}</div>");
        if (created is not null)
        {
            sb.Append("<section class=\"panel\" id=\"new-token\"><h2>New token: ").Append(E(created.Name)).Append("</h2>");
            sb.Append("<p><b>Copy it now: it is shown only once.</b> Watchkeeper stores only its hash.</p>");
            sb.Append($"<p class=\"token-once\" id=\"token-value\">{E(created.Token)}</p>");
            sb.Append($"<p class=\"small\">Use it as <code>Authorization: Bearer {E(created.Token[..7])}…</code> or with <code>wk</code>.</p></section>");
        }
        sb.Append("<section class=\"panel\"><table id=\"tokens\"><thead><tr><th>Name</th><th>Prefix</th><th>Created</th><th>Last used</th><th>Expires</th><th>State</th><th></th></tr></thead><tbody>");
        if (list.Count == 0) sb.Append("<tr><td colspan=\"7\" class=\"muted\">No tokens yet.</td></tr>");
        foreach (var t in list)
        {
            var expired = t.RevokedAt is null && t.ExpiresAt <= ctx.Now;
            sb.Append($"<tr data-token=\"{t.Id}\"><td>{E(t.Name)}</td><td><code>{E(t.Prefix)}…</code></td><td class=\"nowrap\">{Time(t.CreatedAt)}</td><td class=\"nowrap\">{Time(t.LastUsedAt)}</td>");
            sb.Append(t.ExpiresAt is { } x ? $"<td class=\"nowrap\">{Time(x)}</td>" : "<td class=\"muted\">never</td>");
            sb.Append(t.RevokedAt is { } r ? $"<td><span class=\"flag bad\">revoked</span> {Time(r)}</td><td></td>"
                : expired ? "<td><span class=\"flag bad\">expired</span></td><td></td>" : "<td><span class=\"flag ok\">active</span></td><td>");
            if (t.RevokedAt is null && !expired)
                sb.Append(ctx.FormStart($"/tokens/{t.Id}/revoke", "inline")).Append($"<button type=\"submit\" class=\"danger\" data-confirm=\"Revoke token '{E(t.Name)}'? Anything using it stops working.\">Revoke</button></form></td>");
            sb.Append("</tr>");
        }
        sb.Append("</tbody></table></section>");
        sb.Append("<section class=\"panel\"><h2>Create a token</h2>");
        sb.Append(ctx.FormStart("/tokens", "row", "create-token"));
        sb.Append($"<div><label for=\"t-name\">Token name</label><input type=\"text\" id=\"t-name\" name=\"name\" placeholder=\"e.g. laptop wk, grafana\" value=\"{E(err?.Value("token", "name", null))}\"{err?.Invalid("token", "name")}></div>");
        sb.Append($"<div><label for=\"t-expires\">Expires in <span class=\"hint\">(e.g. 30d; empty: never)</span></label><input type=\"text\" id=\"t-expires\" name=\"expires_in\" value=\"{E(err?.Value("token", "expires_in", null))}\"{err?.Invalid("token", "expires_in")}></div>");
        sb.Append($"<button type=\"submit\">Create token</button></form><p class=\"small muted\">A token acts with your role ({E(ctx.Role)}).</p></section>");
        return Page(ctx, "API tokens", "tokens", sb.ToString(), status, err?.Message);
    }
}
