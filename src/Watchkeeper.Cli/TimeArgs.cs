using Watchkeeper.Metrics.Model;

namespace Watchkeeper.Cli;

/// <summary>
/// Time values on the command line, read with the server's own grammar (<see cref="PromDuration"/>, <see cref="PromTime"/>):
/// durations (<c>30m</c>, <c>1h30m</c>, <c>30d</c>, <c>2w</c>), RFC 3339 times, Unix seconds and dates.
/// </summary>
public static class TimeArgs
{
    /// <summary>A positive duration in Prometheus's grammar.</summary>
    public static bool TryParseDuration(string? text, out TimeSpan value) =>
        PromDuration.TryParse(text, out value) && value > TimeSpan.Zero;

    public static TimeSpan Duration(string text, string option)
    {
        if (TryParseDuration(text, out var d)) return d;
        var why = PromDuration.TryParse(text, out _, out var error) ? "must be positive" : error;
        throw WkException.Usage($"{option}: '{text}' is not a duration: {why} (use e.g. 30m, 4h, 30d, 2w)");
    }

    /// <summary>An absolute time: RFC 3339 (<c>2026-11-02T09:00:00Z</c>), Unix seconds, or a date (<c>2026-11-02</c>, UTC midnight).</summary>
    public static DateTimeOffset Time(string text, string option) =>
        PromTime.TryParseDateOrTime(text, out var ms, out _)
            ? FromMs(ms)
            : throw WkException.Usage($"{option}: '{text}' is not a time (use RFC 3339, e.g. 2026-11-02T09:00:00Z, or a date such as 2026-11-02)");

    /// <summary>"--since 30d" is 30 days before now; an absolute time is taken as is.</summary>
    public static DateTimeOffset Since(string text, DateTimeOffset now, string option = "--since") =>
        TryParseDuration(text, out var d) ? now - d : Time(text, option);

    public static string Rfc3339(DateTimeOffset t) => PromTime.FormatRfc3339(t.ToUnixTimeMilliseconds() / 1000 * 1000);

    private static DateTimeOffset FromMs(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(
        Math.Clamp(ms, DateTimeOffset.MinValue.ToUnixTimeMilliseconds(), DateTimeOffset.MaxValue.ToUnixTimeMilliseconds()));
}
