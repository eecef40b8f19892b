using System.Globalization;
using System.Text.RegularExpressions;

namespace Watchkeeper.Cli;

/// <summary>Time values on the command line: durations (<c>30m</c>, <c>1h30m</c>, <c>30d</c>, <c>2w</c>) and RFC 3339 times or dates.</summary>
public static partial class TimeArgs
{
    [GeneratedRegex(@"^(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")]
    private static partial Regex DurationPattern();

    public static bool TryParseDuration(string? text, out TimeSpan value)
    {
        value = default;
        if (string.IsNullOrWhiteSpace(text)) return false;
        var m = DurationPattern().Match(text.Trim());
        if (!m.Success || m.Length == 0) return false;
        long[] unit = [604_800, 86_400, 3_600, 60, 1];
        long seconds = 0;
        for (var i = 0; i < unit.Length; i++)
        {
            if (!m.Groups[i + 1].Success) continue;
            if (!long.TryParse(m.Groups[i + 1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n > 100_000_000) return false;
            seconds += n * unit[i];
        }
        value = TimeSpan.FromSeconds(seconds);
        return seconds > 0;
    }

    public static TimeSpan Duration(string text, string option) =>
        TryParseDuration(text, out var d) ? d : throw WkException.Usage($"{option}: '{text}' is not a duration (use e.g. 30m, 4h, 30d, 2w)");

    /// <summary>An absolute time: RFC 3339 (<c>2026-11-02T09:00:00Z</c>) or a date (<c>2026-11-02</c>, UTC midnight).</summary>
    public static DateTimeOffset Time(string text, string option) =>
        DateTimeOffset.TryParse(text.Trim(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t)
            ? t
            : throw WkException.Usage($"{option}: '{text}' is not a time (use RFC 3339, e.g. 2026-11-02T09:00:00Z, or a date such as 2026-11-02)");

    /// <summary>"--since 30d" is 30 days before now; an absolute time is taken as is.</summary>
    public static DateTimeOffset Since(string text, DateTimeOffset now, string option = "--since") =>
        TryParseDuration(text, out var d) ? now - d : Time(text, option);

    public static string Rfc3339(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
