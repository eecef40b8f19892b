using System.Globalization;
using System.Text;

namespace Watchkeeper.Metrics.Model;

/// <summary>
/// The one duration grammar of Watchkeeper, Prometheus's (<c>model.ParseDuration</c>): <c>0</c>, or one or more
/// <c>&lt;integer&gt;&lt;unit&gt;</c> terms with units <c>y w d h m s ms</c> in strictly descending order, each at most once
/// (<c>1d2h30m</c>, <c>90s</c>, <c>250ms</c>). No sign, fraction, spaces or other units; at most 2^63-1 nanoseconds
/// (about 292 years). Configuration, the HTTP APIs, the CLI and PromQL all read durations with it; the Prometheus query
/// API also takes a number of seconds (<see cref="TryParseSecondsOrDuration"/>).
/// </summary>
public static class PromDuration
{
    /// <summary>Units from the largest to the smallest, with their length in nanoseconds.</summary>
    private static readonly (string Unit, ulong Ns)[] Units =
    [
        ("y", 365UL * 24 * 3600 * 1_000_000_000), ("w", 7UL * 24 * 3600 * 1_000_000_000), ("d", 24UL * 3600 * 1_000_000_000),
        ("h", 3600UL * 1_000_000_000), ("m", 60UL * 1_000_000_000), ("s", 1_000_000_000), ("ms", 1_000_000),
    ];

    /// <summary>The largest duration the grammar accepts: 2^63-1 nanoseconds, as Go's <c>time.Duration</c>.</summary>
    public static readonly TimeSpan MaxValue = TimeSpan.FromTicks(long.MaxValue / 100);

    /// <summary>Parses <paramref name="s"/>; on failure <paramref name="error"/> says why, in Prometheus's words.</summary>
    public static bool TryParse(string? s, out TimeSpan value, out string error)
    {
        value = TimeSpan.Zero;
        error = "";
        if (s is null || s.Length == 0)
        {
            error = "empty duration string";
            return false;
        }
        if (s == "0") return true;
        ulong totalNs = 0;
        var i = 0;
        var lastUnit = -1;
        while (i < s.Length)
        {
            var start = i;
            while (i < s.Length && char.IsAsciiDigit(s[i])) i++;
            if (i == start || !ulong.TryParse(s.AsSpan(start, i - start), NumberStyles.None, CultureInfo.InvariantCulture, out var n))
            {
                error = $"not a valid duration string: \"{s}\"";
                return false;
            }
            var ustart = i;
            while (i < s.Length && !char.IsAsciiDigit(s[i])) i++;
            if (i == ustart)
            {
                error = $"not a valid duration string: \"{s}\"";
                return false;
            }
            var unit = s.AsSpan(ustart, i - ustart);
            var idx = -1;
            for (var u = 0; u < Units.Length; u++)
            {
                if (unit.SequenceEqual(Units[u].Unit)) idx = u;
            }
            if (idx < 0)
            {
                error = $"unknown unit \"{unit}\" in duration \"{s}\"";
                return false;
            }
            if (idx <= lastUnit)
            {
                error = $"not a valid duration string: \"{s}\"";
                return false;
            }
            lastUnit = idx;
            var mult = Units[idx].Ns;
            if (n > (1UL << 63) / mult)
            {
                error = "duration out of range";
                return false;
            }
            totalNs += n * mult;
            if (totalNs > long.MaxValue)
            {
                error = "duration out of range";
                return false;
            }
        }
        value = TimeSpan.FromTicks((long)(totalNs / 100));
        return true;
    }

    public static bool TryParse(string? s, out TimeSpan value) => TryParse(s, out value, out _);

    /// <summary>Parses <paramref name="s"/> or throws <see cref="FormatException"/> with the reason.</summary>
    public static TimeSpan Parse(string s) => TryParse(s, out var d, out var error) ? d : throw new FormatException(error);

    /// <summary>
    /// The Prometheus query API's durations (<c>step</c>, <c>timeout</c>, <c>lookback_delta</c>): a number of seconds
    /// (<c>15</c>, <c>0.5</c>, <c>1e3</c>) or a duration (<c>15s</c>), in whole milliseconds (truncated, as Prometheus
    /// converts them). The result may be zero or negative; callers that need a positive value check it.
    /// </summary>
    public static bool TryParseSecondsOrDuration(string? s, out long ms, out string error)
    {
        ms = 0;
        error = "";
        if (s is not null && double.TryParse(s, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent,
                CultureInfo.InvariantCulture, out var seconds))
        {
            var ns = seconds * 1e9;
            if (double.IsNaN(ns))
            {
                error = $"cannot parse \"{s}\" to a valid duration";
                return false;
            }
            if (ns >= 9.223372036854775807e18 || ns < -9.223372036854775808e18)
            {
                error = $"cannot parse \"{s}\" to a valid duration. It overflows int64";
                return false;
            }
            ms = (long)ns / 1_000_000;
            return true;
        }
        if (TryParse(s, out var d))
        {
            ms = (long)d.TotalMilliseconds;
            return true;
        }
        error = $"cannot parse \"{s}\" to a valid duration";
        return false;
    }

    /// <summary>Prometheus's spelling: the largest units first, <c>0s</c> for zero (<c>1y</c>, <c>12w6d</c>, <c>1m30s</c>, <c>500ms</c>).</summary>
    public static string Format(TimeSpan d)
    {
        var ms = (long)d.TotalMilliseconds;
        if (ms == 0) return "0s";
        var sb = new StringBuilder();
        if (ms < 0)
        {
            sb.Append('-');
            ms = ms == long.MinValue ? long.MaxValue : -ms;
        }
        foreach (var (unit, ns) in Units)
        {
            var size = (long)(ns / 1_000_000);
            if (ms < size) continue;
            sb.Append(ms / size).Append(unit);
            ms %= size;
        }
        return sb.ToString();
    }
}
