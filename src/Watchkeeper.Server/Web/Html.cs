using System.Globalization;
using Watchkeeper.Server.Incidents;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Web;

/// <summary>
/// Text helpers of the pages: times, durations, field labels and the messages of domain errors. They return
/// plain text; the Razor components encode it when they render.
/// </summary>
public static class Html
{
    /// <summary>A value for a URL query string.</summary>
    public static string Url(string? s) => Uri.EscapeDataString(s ?? "");

    public static string Time(DateTimeOffset? t) => t is { } v ? v.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture) : "–";

    public static string TimeSec(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);

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
            "message" => "Resolution message",
            "public_update" => "Final public update",
            "actor" => "Actor",
            "action" => "Action",
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
        FormErrors all => string.Join(" · ", all.Errors.Select(ErrorMessage)),
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
