using System.Globalization;
using System.Text;

namespace Watchkeeper.Metrics.Scrape;

/// <summary>Prometheus durations: <c>1y2w3d4h5m6s7ms</c>, units in that order, each at most once; <c>0</c> is zero.</summary>
public static class PromDuration
{
    private static readonly (string Unit, long Ms)[] Units =
    [
        ("y", 365L * 24 * 3600 * 1000), ("w", 7L * 24 * 3600 * 1000), ("d", 24L * 3600 * 1000),
        ("h", 3600L * 1000), ("m", 60L * 1000), ("s", 1000), ("ms", 1),
    ];

    public static bool TryParse(string s, out TimeSpan value)
    {
        value = TimeSpan.Zero;
        if (s == "0") return true;
        if (s.Length == 0) return false;
        long total = 0;
        var i = 0;
        var lastUnit = -1;
        while (i < s.Length)
        {
            var start = i;
            while (i < s.Length && char.IsAsciiDigit(s[i])) i++;
            if (i == start || i - start > 15) return false;
            var n = long.Parse(s.AsSpan(start, i - start), CultureInfo.InvariantCulture);
            var ustart = i;
            while (i < s.Length && char.IsAsciiLetter(s[i])) i++;
            var unit = s.AsSpan(ustart, i - ustart);
            var idx = -1;
            for (var u = 0; u < Units.Length; u++)
                if (unit.SequenceEqual(Units[u].Unit)) idx = u;
            if (idx <= lastUnit) return false;
            lastUnit = idx;
            try
            {
                total = checked(total + (n * Units[idx].Ms));
            }
            catch (OverflowException)
            {
                return false;
            }
        }
        value = TimeSpan.FromMilliseconds(total);
        return true;
    }

    /// <summary>Formats the shortest Prometheus spelling: <c>1m30s</c>, <c>15s</c>, <c>500ms</c>.</summary>
    public static string Format(TimeSpan d)
    {
        var ms = (long)d.TotalMilliseconds;
        if (ms == 0) return "0s";
        var sb = new StringBuilder();
        foreach (var (unit, size) in Units)
        {
            if (ms >= size)
            {
                sb.Append(ms / size).Append(unit);
                ms %= size;
            }
        }
        return sb.ToString();
    }
}
