using System.Globalization;
using Watchkeeper.Metrics.Model;

namespace Watchkeeper.Server.Dashboards;

/// <summary>
/// A dashboard's time range as Grafana writes it: relative (<c>now-6h</c>, <c>now</c>, <c>now-1d/d</c>) or absolute
/// (Unix milliseconds as in Grafana's URLs, RFC 3339, Unix seconds with a fraction, or a date). Durations use the one
/// Prometheus grammar (<see cref="PromDuration"/>).
/// </summary>
public sealed record TimeRange(string FromText, string ToText, long FromMs, long ToMs)
{
    public long RangeMs => ToMs - FromMs;
    public bool IsRelative => FromText.StartsWith("now", StringComparison.Ordinal) && ToText.StartsWith("now", StringComparison.Ordinal);

    /// <summary>The relative choices of the time picker.</summary>
    public static readonly IReadOnlyList<(string From, string Label)> Quick =
    [
        ("now-5m", "Last 5 minutes"), ("now-15m", "Last 15 minutes"), ("now-30m", "Last 30 minutes"), ("now-1h", "Last 1 hour"),
        ("now-3h", "Last 3 hours"), ("now-6h", "Last 6 hours"), ("now-12h", "Last 12 hours"), ("now-24h", "Last 24 hours"),
        ("now-2d", "Last 2 days"), ("now-7d", "Last 7 days"), ("now-30d", "Last 30 days"),
    ];

    public static readonly TimeSpan MaxRange = TimeSpan.FromDays(400);

    public static bool TryParse(string from, string to, long nowMs, out TimeRange range, out string error)
    {
        range = null!;
        if (!TryParseTime(from, nowMs, roundUp: false, out var f, out error)) { error = "from: " + error; return false; }
        if (!TryParseTime(to, nowMs, roundUp: true, out var t, out error)) { error = "to: " + error; return false; }
        if (t <= f) { error = "from must be before to"; return false; }
        if (t - f > (long)MaxRange.TotalMilliseconds) { error = $"the range is longer than {MaxRange.TotalDays} days"; return false; }
        range = new TimeRange(from, to, f, t);
        return true;
    }

    public static bool TryParseTime(string text, long nowMs, bool roundUp, out long ms, out string error)
    {
        error = "";
        ms = 0;
        text = text.Trim();
        if (text.StartsWith("now", StringComparison.Ordinal))
        {
            var rest = text[3..];
            string? round = null;
            var slash = rest.IndexOf('/', StringComparison.Ordinal);
            if (slash >= 0)
            {
                round = rest[(slash + 1)..];
                rest = rest[..slash];
            }
            ms = nowMs;
            if (rest.Length > 0)
            {
                var sign = rest[0] == '-' ? -1 : rest[0] == '+' ? 1 : 0;
                var derr = "";
                if (sign == 0 || !PromDuration.TryParse(rest[1..], out var d, out derr)) { error = $"\"{text}\" is not now, now-DURATION or now+DURATION" + (derr.Length == 0 ? "" : $" ({derr})"); return false; }
                ms += sign * (long)d.TotalMilliseconds;
            }
            if (round is not null)
            {
                var t = DateTimeOffset.FromUnixTimeMilliseconds(ms);
                DateTimeOffset start;
                TimeSpan len;
                switch (round)
                {
                    case "m": start = new DateTimeOffset(t.Year, t.Month, t.Day, t.Hour, t.Minute, 0, TimeSpan.Zero); len = TimeSpan.FromMinutes(1); break;
                    case "h": start = new DateTimeOffset(t.Year, t.Month, t.Day, t.Hour, 0, 0, TimeSpan.Zero); len = TimeSpan.FromHours(1); break;
                    case "d": start = new DateTimeOffset(t.Year, t.Month, t.Day, 0, 0, 0, TimeSpan.Zero); len = TimeSpan.FromDays(1); break;
                    case "w":
                        var day = new DateTimeOffset(t.Year, t.Month, t.Day, 0, 0, 0, TimeSpan.Zero);
                        start = day.AddDays(-(((int)day.DayOfWeek + 6) % 7)); len = TimeSpan.FromDays(7); break;
                    default: error = $"\"{text}\": round to m, h, d or w (UTC)"; return false;
                }
                ms = (roundUp ? start + len : start).ToUnixTimeMilliseconds() - (roundUp ? 1 : 0);
            }
            return true;
        }
        if (text.Length >= 12 && text.All(char.IsAsciiDigit) && long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var epochMs))
        {
            ms = PromTime.Clamp(epochMs);
            return true;
        }
        if (text.Length == 16 && text[10] == 'T' && DateTimeOffset.TryParseExact(text, "yyyy-MM-dd'T'HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var local))
        {
            ms = local.ToUnixTimeMilliseconds();
            return true;
        }
        if (PromTime.TryParseDateOrTime(text, out ms, out error)) return true;
        error = $"\"{text}\" is not a time (now-1h, Unix milliseconds, RFC 3339 or YYYY-MM-DD)";
        return false;
    }

    /// <summary>Grafana's rounding of a raw interval to a readable one (10ms ... 1y).</summary>
    public static long RoundInterval(long ms) => ms switch
    {
        < 15 => 10, < 35 => 20, < 75 => 50, < 150 => 100, < 250 => 200, < 350 => 300, < 450 => 400, < 750 => 500,
        < 1_500 => 1_000, < 3_500 => 2_000, < 7_500 => 5_000, < 12_500 => 10_000, < 17_500 => 15_000, < 25_000 => 20_000,
        < 45_000 => 30_000, < 90_000 => 60_000, < 210_000 => 120_000, < 450_000 => 300_000, < 750_000 => 600_000,
        < 1_050_000 => 900_000, < 1_500_000 => 1_200_000, < 2_700_000 => 1_800_000, < 5_400_000 => 3_600_000,
        < 9_000_000 => 7_200_000, < 16_200_000 => 10_800_000, < 32_400_000 => 21_600_000, < 86_400_000 => 43_200_000,
        < 604_800_000 => 86_400_000, < 1_814_400_000 => 604_800_000, < 3_628_800_000 => 2_592_000_000,
        _ => 31_536_000_000,
    };
}
