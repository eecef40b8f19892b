using System.Globalization;

namespace Watchkeeper.Metrics.Model;

/// <summary>
/// The one time parser of Watchkeeper, as Prometheus's HTTP API reads times: an RFC 3339 timestamp
/// (<c>2026-11-02T09:00:00Z</c>, <c>2026-11-02T11:00:00.5+02:00</c>) or Unix seconds (<c>1762074000</c>, <c>1762074000.25</c>).
/// Results are Unix milliseconds clamped to Prometheus's <see cref="MinMs"/>..<see cref="MaxMs"/>, so arithmetic on them
/// with durations up to <see cref="PromDuration.MaxValue"/> cannot overflow. <see cref="TryParseDateOrTime"/> also takes a
/// calendar date (UTC midnight), and <see cref="TryParseAgoOrTime"/> a duration before now, as the CLI and Watchkeeper's
/// own API have always accepted.
/// </summary>
public static class PromTime
{
    private const long GoEpochOffsetSeconds = 62135596801;

    /// <summary>Prometheus's smallest time (year -292273086), in Unix milliseconds.</summary>
    public const long MinMs = (long.MinValue / 1000 + GoEpochOffsetSeconds) * 1000;

    /// <summary>Prometheus's largest time (year 292277025), in Unix milliseconds.</summary>
    public const long MaxMs = (long.MaxValue / 1000 - GoEpochOffsetSeconds) * 1000 + 999;

    // Go's time package cannot parse years beyond 9999 either; Prometheus accepts its own boundary times as written.
    private const string MinText = "-292273086-05-16T16:47:06Z";
    private const string MaxText = "292277025-08-18T07:12:54.999999999Z";

    /// <summary>Clamps Unix milliseconds to <see cref="MinMs"/>..<see cref="MaxMs"/>.</summary>
    public static long Clamp(long ms) => Math.Clamp(ms, MinMs, MaxMs);

    /// <summary>Parses an RFC 3339 timestamp or Unix seconds; on failure <paramref name="error"/> says why, in Prometheus's words.</summary>
    public static bool TryParse(string? s, out long ms, out string error)
    {
        ms = 0;
        error = $"cannot parse \"{s}\" to a valid timestamp";
        if (string.IsNullOrEmpty(s)) return false;
        if (double.TryParse(s, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent,
                CultureInfo.InvariantCulture, out var seconds))
        {
            if (!double.IsFinite(seconds)) return false;
            ms = FromSeconds(seconds);
            return true;
        }
        if (s == MinText) { ms = MinMs; return true; }
        if (s == MaxText) { ms = MaxMs; return true; }
        return TryParseRfc3339(s, out ms);
    }

    public static bool TryParse(string? s, out long ms) => TryParse(s, out ms, out _);

    /// <summary>As <see cref="TryParse(string?, out long, out string)"/>, and also a date (<c>2026-11-02</c>, UTC midnight).</summary>
    public static bool TryParseDateOrTime(string? s, out long ms, out string error)
    {
        if (TryParse(s, out ms, out error)) return true;
        if (s is { Length: 10 } && TryDate(s, 0, out var y, out var mo, out var d))
        {
            ms = new DateTimeOffset(y, mo, d, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();
            return true;
        }
        return false;
    }

    /// <summary>A duration before <paramref name="nowMs"/> (<c>30d</c> is 30 days ago), else a date or time.</summary>
    public static bool TryParseAgoOrTime(string? s, long nowMs, out long ms, out string error)
    {
        if (s is { Length: > 0 } && char.IsAsciiDigit(s[0]) && PromDuration.TryParse(s, out var ago) && s != "0")
        {
            error = "";
            ms = Clamp(nowMs - (long)ago.TotalMilliseconds);
            return true;
        }
        return TryParseDateOrTime(s, out ms, out error);
    }

    /// <summary>Unix seconds to milliseconds as Prometheus rounds them (the fraction to the millisecond), clamped.</summary>
    public static long FromSeconds(double seconds)
    {
        if (double.IsNaN(seconds)) throw new ArgumentOutOfRangeException(nameof(seconds), "NaN is not a time");
        if (seconds * 1000 >= MaxMs) return MaxMs;
        if (seconds * 1000 <= MinMs) return MinMs;
        var whole = Math.Truncate(seconds);
        return (long)whole * 1000 + (long)Math.Round((seconds - whole) * 1000);
    }

    /// <summary>RFC 3339 in UTC with seconds, and milliseconds when there are any (<c>2026-11-02T09:00:00.250Z</c>).</summary>
    public static string FormatRfc3339(long ms)
    {
        var t = DateTimeOffset.FromUnixTimeMilliseconds(Math.Clamp(ms, DateTimeOffset.MinValue.ToUnixTimeMilliseconds(), DateTimeOffset.MaxValue.ToUnixTimeMilliseconds()));
        return t.UtcDateTime.ToString(ms % 1000 == 0 ? "yyyy-MM-dd'T'HH:mm:ss'Z'" : "yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
    }

    /// <summary><c>YYYY-MM-DD(T|t| )hh:mm:ss[.fraction](Z|z|+hh:mm|-hh:mm)</c>, as Go's <c>time.RFC3339Nano</c> layout reads it.</summary>
    private static bool TryParseRfc3339(string s, out long ms)
    {
        ms = 0;
        if (s.Length < 20 || !TryDate(s, 0, out var y, out var mo, out var d)) return false;
        if (s[10] is not ('T' or 't' or ' ')) return false;
        if (!Two(s, 11, out var h) || s[13] != ':' || !Two(s, 14, out var mi) || s[16] != ':' || !Two(s, 17, out var sec)) return false;
        if (h > 23 || mi > 59 || sec > 59) return false;
        var i = 19;
        long fracMs = 0;
        if (s[i] is '.' or ',')
        {
            var start = ++i;
            while (i < s.Length && char.IsAsciiDigit(s[i])) i++;
            if (i == start || i - start > 9) return false;
            var digits = s.AsSpan(start, Math.Min(3, i - start)).ToString().PadRight(3, '0');
            fracMs = int.Parse(digits, NumberStyles.None, CultureInfo.InvariantCulture);
        }
        if (i >= s.Length) return false;
        long offsetMinutes;
        if (s[i] is 'Z' or 'z')
        {
            if (i + 1 != s.Length) return false;
            offsetMinutes = 0;
        }
        else if (s[i] is '+' or '-')
        {
            if (i + 6 != s.Length || !Two(s, i + 1, out var oh) || s[i + 3] != ':' || !Two(s, i + 4, out var om) || oh > 23 || om > 59) return false;
            offsetMinutes = (oh * 60 + om) * (s[i] == '-' ? -1 : 1);
        }
        else return false;
        var utc = new DateTimeOffset(y, mo, d, h, mi, sec, TimeSpan.Zero).ToUnixTimeMilliseconds();
        ms = utc - offsetMinutes * 60_000 + fracMs;
        return true;
    }

    private static bool TryDate(string s, int at, out int y, out int mo, out int d)
    {
        y = mo = d = 0;
        if (s.Length < at + 10 || s[at + 4] != '-' || s[at + 7] != '-') return false;
        if (!int.TryParse(s.AsSpan(at, 4), NumberStyles.None, CultureInfo.InvariantCulture, out y) || !Two(s, at + 5, out mo) || !Two(s, at + 8, out d))
            return false;
        return y >= 1 && mo is >= 1 and <= 12 && d >= 1 && d <= DateTime.DaysInMonth(y, mo);
    }

    private static bool Two(string s, int at, out int v)
    {
        v = 0;
        if (at + 2 > s.Length || !char.IsAsciiDigit(s[at]) || !char.IsAsciiDigit(s[at + 1])) return false;
        v = (s[at] - '0') * 10 + s[at + 1] - '0';
        return true;
    }
}
