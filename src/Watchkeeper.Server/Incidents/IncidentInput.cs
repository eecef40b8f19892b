using System.Globalization;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Incidents;

/// <summary>
/// Input rules for incident fields, applied at the edge so nothing stored can spoof a page, a log line or a
/// timeline: single-line fields (titles, names) take no control characters at all; text fields (summaries,
/// notes, status updates, postmortems) take tab and line breaks but no other control character (NUL, ESC, ...)
/// and no bidirectional override or isolate (U+202A-U+202E, U+2066-U+2069), which can make text read
/// differently from what it is. Times must lie between <see cref="Earliest"/> and a small skew into the future.
/// </summary>
public static class IncidentInput
{
    /// <summary>No incident or action item is dated before this.</summary>
    public static readonly DateTimeOffset Earliest = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>How far into the future a detection time may lie (clock skew between reporters).</summary>
    public static readonly TimeSpan FutureSkew = TimeSpan.FromMinutes(1);

    /// <summary>The latest due date an action item may have.</summary>
    public static readonly DateTimeOffset Latest = new(2100, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static string Required(string? v, string field, int max, bool multiline = false)
    {
        if (string.IsNullOrWhiteSpace(v)) throw new ValidationException(field, "is required");
        v = v.Trim();
        if (v.Length > max) throw new ValidationException(field, $"must be at most {max} characters");
        return Check(v, field, multiline);
    }

    public static string Optional(string? v, string field, int max, bool multiline = false)
    {
        v = v?.Trim() ?? "";
        if (v.Length > max) throw new ValidationException(field, $"must be at most {max} characters");
        return Check(v, field, multiline);
    }

    public static string? Person(string? v, string field)
    {
        if (string.IsNullOrWhiteSpace(v)) return null;
        v = v.Trim();
        if (v.Length > 100) throw new ValidationException(field, "must be at most 100 characters");
        return Check(v, field, multiline: false);
    }

    /// <summary>Refuses control characters (all of them in single-line fields; all but tab, CR and LF in text) and bidi overrides.</summary>
    public static string Check(string v, string field, bool multiline)
    {
        for (var i = 0; i < v.Length; i++)
        {
            var c = v[i];
            if (char.IsControl(c))
            {
                if (multiline && c is '\t' or '\n' or '\r') continue;
                throw new ValidationException(field, multiline
                    ? $"must not contain control characters other than tab and line breaks (U+{(int)c:X4} at position {i})"
                    : $"must be a single line without control characters (U+{(int)c:X4} at position {i})");
            }
            if (c is >= '\u202A' and <= '\u202E' or >= '\u2066' and <= '\u2069')
                throw new ValidationException(field, $"must not contain bidirectional override or isolate characters (U+{(int)c:X4} at position {i})");
        }
        return v;
    }

    /// <summary>A detection time: not before <see cref="Earliest"/>, not beyond <see cref="FutureSkew"/> from now.</summary>
    public static long DetectedAt(DateTimeOffset? v, long now, string field)
    {
        if (v is null) return now;
        var ms = v.Value.ToUnixTimeMilliseconds();
        if (v.Value < Earliest) throw new ValidationException(field, $"{Format(v.Value)} is before {Format(Earliest)}");
        if (ms > now + (long)FutureSkew.TotalMilliseconds) throw new ValidationException(field, $"{Format(v.Value)} is in the future");
        return ms;
    }

    /// <summary>A due date: between <see cref="Earliest"/> and <see cref="Latest"/>.</summary>
    public static long? DueAt(DateTimeOffset? v, string field)
    {
        if (v is null) return null;
        if (v.Value < Earliest || v.Value >= Latest) throw new ValidationException(field, $"{Format(v.Value)} is outside {Format(Earliest)} to {Format(Latest)}");
        return v.Value.ToUnixTimeMilliseconds();
    }

    /// <summary>Escapes LIKE wildcards (<c>%</c>, <c>_</c>) and the escape character (<c>\</c>); use with <c>ESCAPE '\'</c>.</summary>
    public static string EscapeLike(string s) =>
        s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("%", "\\%", StringComparison.Ordinal).Replace("_", "\\_", StringComparison.Ordinal);

    private static string Format(DateTimeOffset t) => t.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
