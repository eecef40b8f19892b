using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Watchkeeper.Server.Platform;

/// <summary>A Prometheus-style duration (<c>1h30m</c>, <c>5m</c>, <c>250ms</c>, <c>2d</c>, <c>1w</c>).</summary>
public readonly partial record struct Duration(TimeSpan Value)
{
    [GeneratedRegex(@"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$")]
    private static partial Regex Pattern();

    public static bool TryParse(string? text, out Duration d)
    {
        d = default;
        if (string.IsNullOrWhiteSpace(text)) return false;
        text = text.Trim();
        if (text == "0") return true;
        var m = Pattern().Match(text);
        if (!m.Success || m.Length == 0) return false;
        long[] unitMs = [365L * 86_400_000, 7 * 86_400_000, 86_400_000, 3_600_000, 60_000, 1_000, 1];
        long total = 0;
        var any = false;
        for (var i = 0; i < unitMs.Length; i++)
        {
            var g = m.Groups[i + 1];
            if (!g.Success) continue;
            any = true;
            if (!long.TryParse(g.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var n)) return false;
            // Too large to represent is "not a duration", never an exception.
            if (n > (long)TimeSpan.MaxValue.TotalMilliseconds / unitMs[i]) return false;
            total += n * unitMs[i];
            if (total > (long)TimeSpan.MaxValue.TotalMilliseconds) return false;
        }
        if (!any) return false;
        d = new Duration(TimeSpan.FromMilliseconds(total));
        return true;
    }

    public static Duration Parse(string text) =>
        TryParse(text, out var d) ? d : throw new FormatException($"invalid duration \"{text}\" (use e.g. 30s, 5m, 1h30m, 2d)");

    public override string ToString() => Format(Value);

    public static string Format(TimeSpan t)
    {
        if (t == TimeSpan.Zero) return "0s";
        var sb = new StringBuilder();
        var ms = (long)t.TotalMilliseconds;
        if (ms < 0) { sb.Append('-'); ms = -ms; }
        (long unit, string s)[] units = [(7 * 86_400_000L, "w"), (86_400_000L, "d"), (3_600_000L, "h"), (60_000L, "m"), (1000L, "s"), (1L, "ms")];
        foreach (var (unit, s) in units)
        {
            if (ms >= unit)
            {
                sb.Append(ms / unit).Append(s);
                ms %= unit;
            }
        }
        return sb.ToString();
    }

    public static implicit operator TimeSpan(Duration d) => d.Value;
}
