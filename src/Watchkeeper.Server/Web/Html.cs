using System.Globalization;
using System.Net;
using System.Security.Claims;
using System.Text;
using Microsoft.AspNetCore.Antiforgery;
using Watchkeeper.Server.Incidents;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Web;

/// <summary>
/// What every page needs while it renders: the signed-in user and role, an antiforgery token for its
/// forms and the current time from the server's clock.
/// </summary>
public sealed class PageContext
{
    private readonly AntiforgeryTokenSet _tokens;

    public PageContext(HttpContext http)
    {
        Http = http;
        User = http.User;
        Now = http.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow();
        _tokens = http.RequestServices.GetRequiredService<IAntiforgery>().GetAndStoreTokens(http);
        Config = http.RequestServices.GetRequiredService<ConfigHolder>().Current;
    }

    public HttpContext Http { get; }
    public ClaimsPrincipal User { get; }
    public DateTimeOffset Now { get; }
    public WatchkeeperConfig Config { get; }
    public string UserName => User.Actor();
    public string Role => User.FindFirstValue(ClaimTypes.Role) ?? "";
    public bool CanWrite => PlatformModule.RankOf(User) >= 2;
    public bool IsAdmin => PlatformModule.RankOf(User) >= 3;

    /// <summary>The hidden antiforgery field every form carries.</summary>
    public string Token => $"<input type=\"hidden\" name=\"{Html.E(_tokens.FormFieldName)}\" value=\"{Html.E(_tokens.RequestToken)}\">";

    /// <summary>Opens a POST form with its antiforgery token.</summary>
    public string FormStart(string action, string? cls = null, string? id = null) =>
        $"<form method=\"post\" action=\"{Html.E(action)}\"{(cls is null ? "" : $" class=\"{cls}\"")}{(id is null ? "" : $" id=\"{id}\"")}>{Token}";
}

/// <summary>HTML helpers: encoding, the shared layout, formatting of times, durations and severities.</summary>
public static class Html
{
    public const string ContentType = "text/html; charset=utf-8";

    /// <summary>HTML-encodes text for element content and attribute values.</summary>
    public static string E(string? s) => string.IsNullOrEmpty(s) ? "" : WebUtility.HtmlEncode(s);

    public static string Url(string? s) => Uri.EscapeDataString(s ?? "");

    public static IResult Page(PageContext ctx, string title, string active, string body, int status = 200, string? error = null)
    {
        var sb = new StringBuilder(body.Length + 4096);
        sb.Append("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
        sb.Append($"<title>{E(title)} · Watchkeeper</title><link rel=\"stylesheet\" href=\"/ui/app.css\"><script src=\"/ui/app.js\" defer></script></head><body>");
        sb.Append("<header class=\"top\"><a class=\"brand\" href=\"/incidents\">Watchkeeper</a><nav>");
        NavLink(sb, "/incidents", "Incidents", active == "incidents");
        if (ctx.CanWrite) NavLink(sb, "/incidents/new", "Declare incident", active == "new");
        NavLink(sb, "/reports", "Reports", active == "reports");
        NavLink(sb, "/targets", "Targets", active == "targets");
        NavLink(sb, "/query", "Query", active == "query");
        if (ctx.IsAdmin) NavLink(sb, "/users", "Users", active == "users");
        NavLink(sb, "/tokens", "API tokens", active == "tokens");
        sb.Append("</nav><div class=\"who\">");
        sb.Append($"<span class=\"user\">{E(ctx.UserName)} <span class=\"role role-{E(ctx.Role)}\">{E(ctx.Role)}</span></span>");
        sb.Append(ctx.FormStart("/logout", "inline")).Append("<button class=\"link\" type=\"submit\">Log out</button></form>");
        sb.Append("</div></header><main>");
        if (!ctx.CanWrite) sb.Append("<p class=\"readonly\">Read-only view: your role is <b>viewer</b>. Ask an admin for the responder role to make changes.</p>");
        if (error is not null) sb.Append($"<div class=\"error\" role=\"alert\" id=\"error\">{E(error)}</div>");
        sb.Append(body);
        sb.Append($"</main><footer>Watchkeeper · times in UTC · page rendered {ctx.Now:yyyy-MM-dd HH:mm:ss} UTC</footer></body></html>");
        return Results.Content(sb.ToString(), ContentType, Encoding.UTF8, status);
    }

    private static void NavLink(StringBuilder sb, string href, string text, bool active) =>
        sb.Append($"<a href=\"{href}\"{(active ? " class=\"active\" aria-current=\"page\"" : "")}>{text}</a>");

    /// <summary>A page without navigation (login).</summary>
    public static IResult Bare(string title, string body, int status = 200) =>
        Results.Content($"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{E(title)} · Watchkeeper</title><link rel=\"stylesheet\" href=\"/ui/app.css\"></head><body class=\"bare\"><main>{body}</main></body></html>",
            ContentType, Encoding.UTF8, status);

    public static string Time(DateTimeOffset? t) => t is { } v ? v.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture) : "–";

    public static string TimeSec(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);

    /// <summary>A time element with its full UTC value as a tooltip.</summary>
    public static string TimeTag(DateTimeOffset? t) => t is { } v
        ? $"<time datetime=\"{v.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ}\" title=\"{TimeSec(v)} UTC\">{Time(v)}</time>"
        : "–";

    /// <summary>A compact duration with its two largest units: <c>2d 3h</c>, <c>14m</c>, <c>45s</c>.</summary>
    public static string Span(TimeSpan t)
    {
        if (t < TimeSpan.Zero) t = -t;
        var s = (long)t.TotalSeconds;
        if (s < 60) return $"{s}s";
        var m = s / 60;
        if (m < 60) return $"{m}m";
        var h = m / 60;
        if (h < 24) return m % 60 == 0 ? $"{h}h" : $"{h}h {m % 60}m";
        var d = h / 24;
        return h % 24 == 0 ? $"{d}d" : $"{d}d {h % 24}h";
    }

    public static string Span(double? seconds) => seconds is { } s ? Span(TimeSpan.FromSeconds(s)) : "–";

    /// <summary>"in 12m" or "3h 4m ago" relative to now.</summary>
    public static string Relative(DateTimeOffset t, DateTimeOffset now) => t >= now ? $"in {Span(t - now)}" : $"{Span(now - t)} ago";

    public static string SeverityBadge(string severity) =>
        $"<span class=\"sev sev-{E(severity.ToLowerInvariant())}\">{E(severity)}</span>";

    public static string StatusBadge(string status) =>
        $"<span class=\"status st-{E(status)}\">{E(IncidentStatus.Title(status))}</span>";

    public static string Selected(bool b) => b ? " selected" : "";
    public static string Checked(bool b) => b ? " checked" : "";

    public static string Options(IEnumerable<(string Value, string Label)> options, string? selected) =>
        string.Concat(options.Select(o => $"<option value=\"{E(o.Value)}\"{Selected(string.Equals(o.Value, selected, StringComparison.OrdinalIgnoreCase))}>{E(o.Label)}</option>"));

    /// <summary>A human label for a field name used in <see cref="ValidationException"/>.</summary>
    public static string FieldLabel(string field)
    {
        var f = field;
        var bracket = f.IndexOf('[', StringComparison.Ordinal);
        if (bracket > 0) f = f[..bracket];
        var label = f switch
        {
            "title" => "Title",
            "kind" => "Kind",
            "severity" => "Severity",
            "summary" => "Summary",
            "users_affected" => "Users affected",
            "services_affected" => "Services affected",
            "business_impact" => "Business impact",
            "detection_source" => "Detection source",
            "detected_at" => "Detected at",
            "commander" => "Incident commander",
            "communications_lead" => "Communications lead",
            "scribe" => "Scribe",
            "status" => "Status",
            "text" => "Note",
            "current_status" => "Current status",
            "visibility" => "Visibility",
            "next_update_in" => "Next update in",
            "owner" => "Owner",
            "due_at" => "Due date",
            "root_cause" => "Root cause",
            "lessons_learned" => "Lessons learned",
            "impact" => "Impact",
            "username" => "Username",
            "password" => "Password",
            "role" => "Role",
            "name" => "Token name",
            "from" => "From",
            "to" => "To",
            "bucket" => "Bucket",
            "limit" => "Page size",
            "q" => "Search",
            _ => field,
        };
        return bracket > 0 ? $"{label} {field[bracket..]}" : label;
    }

    /// <summary>The readable message for a domain error shown on a page.</summary>
    public static string ErrorMessage(Exception ex)
    {
        var m = RawMessage(ex);
        return m.Length > 0 && char.IsLower(m[0]) ? char.ToUpperInvariant(m[0]) + m[1..] : m;
    }

    private static string RawMessage(Exception ex) => ex switch
    {
        ValidationException v => $"{FieldLabel(v.Field)}: {v.Problem}",
        InvalidTransitionException t => $"Cannot change status from {IncidentStatus.Title(t.From)} to {IncidentStatus.Title(t.To)}. Allowed from {IncidentStatus.Title(t.From)}: "
            + (t.Allowed.Count == 0 ? "none" : string.Join(", ", t.Allowed.Select(IncidentStatus.Title))) + ".",
        VersionMismatchException => "Someone else changed this incident after you loaded the page. The page below shows the current state; check it and retry.",
        ConflictException c => c.Message,
        NotFoundException n => n.Message,
        ForbiddenException f => f.Message,
        _ => ex.Message,
    };

    /// <summary>True for the exceptions a page shows as a message instead of failing.</summary>
    public static bool IsDomainError(Exception ex) => ex is ProblemException;

    /// <summary>The status a domain exception carries (<see cref="ProblemException"/>), as the API answers it.</summary>
    public static int StatusFor(Exception ex) => ex is ProblemException p ? p.Status : 500;
}
