using System.Globalization;
using System.Text;

namespace Watchkeeper.Metrics.Templates;

/// <summary>Go's time printing: time.Time.String, time.Duration.String and Format with Go's reference layout.</summary>
public static class GoTime
{
    private static readonly string[] LongDays = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
    private static readonly string[] LongMonths =
        ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

    /// <summary>The zone name Go prints: "UTC" for a zero offset without a name, otherwise the name or "+hhmm".</summary>
    internal static string ZoneName(DateTimeOffset t, string? zone)
    {
        if (!string.IsNullOrEmpty(zone)) return zone;
        if (t.Offset == TimeSpan.Zero) return "UTC";
        return NumericZone(t.Offset, "-0700");
    }

    /// <summary>time.Time.String: <c>2006-01-02 15:04:05.999999999 -0700 MST</c>.</summary>
    public static string ToGoString(DateTimeOffset t, string? zone) => Format(t, "2006-01-02 15:04:05.999999999 -0700 MST", zone);

    /// <summary>time.Duration.String: <c>1h2m3.5s</c>, <c>1.5ms</c>, <c>0s</c>.</summary>
    public static string DurationString(TimeSpan d)
    {
        var ns = d.Ticks * 100;
        if (ns == 0) return "0s";
        var neg = ns < 0;
        var u = neg ? (ulong)(-(ns + 1)) + 1 : (ulong)ns;
        var sb = new StringBuilder();
        if (u < 1_000_000_000)
        {
            string unit;
            ulong div;
            if (u < 1_000) { unit = "ns"; div = 1; }
            else if (u < 1_000_000) { unit = "µs"; div = 1_000; }
            else { unit = "ms"; div = 1_000_000; }
            AppendFrac(sb, u, div);
            sb.Append(unit);
        }
        else
        {
            var secs = u / 1_000_000_000;
            var frac = u % 1_000_000_000;
            var h = secs / 3600;
            var m = secs / 60 % 60;
            var s = secs % 60;
            if (h > 0) sb.Append(h).Append('h');
            if (h > 0 || m > 0) sb.Append(m).Append('m');
            sb.Append(s);
            if (frac > 0) sb.Append('.').Append(frac.ToString("D9", CultureInfo.InvariantCulture).TrimEnd('0'));
            sb.Append('s');
        }
        return (neg ? "-" : "") + sb;
    }

    private static void AppendFrac(StringBuilder sb, ulong v, ulong div)
    {
        sb.Append(v / div);
        var rem = v % div;
        if (rem == 0) return;
        var digits = div.ToString(CultureInfo.InvariantCulture).Length - 1;
        sb.Append('.').Append(rem.ToString("D" + digits, CultureInfo.InvariantCulture).TrimEnd('0'));
    }

    private static string NumericZone(TimeSpan off, string layout)
    {
        var sign = off < TimeSpan.Zero ? '-' : '+';
        var a = off.Duration();
        var hh = a.Hours.ToString("D2", CultureInfo.InvariantCulture);
        var mm = a.Minutes.ToString("D2", CultureInfo.InvariantCulture);
        var ss = a.Seconds.ToString("D2", CultureInfo.InvariantCulture);
        return layout switch
        {
            "-07" => $"{sign}{hh}",
            "-07:00" => $"{sign}{hh}:{mm}",
            "-07:00:00" => $"{sign}{hh}:{mm}:{ss}",
            "-070000" => $"{sign}{hh}{mm}{ss}",
            _ => $"{sign}{hh}{mm}",
        };
    }

    // Layout elements, longest first where one is a prefix of another.
    private static readonly string[] Elements =
    [
        "January", "Jan", "Monday", "Mon", "MST",
        "2006", "2", "_2", "__2", "002", "02", "06", "01", "15", "1", "03", "3", "04", "4", "05", "5", "PM", "pm",
        "Z070000", "Z07:00:00", "Z07:00", "Z0700", "Z07", "-070000", "-07:00:00", "-07:00", "-0700", "-07",
    ];

    /// <summary>time.Time.Format with Go's reference time layout (Mon Jan 2 15:04:05 MST 2006).</summary>
    public static string Format(DateTimeOffset t, string layout, string? zone = null)
    {
        var sb = new StringBuilder(layout.Length + 8);
        var i = 0;
        while (i < layout.Length)
        {
            var (elem, len) = Match(layout, i);
            if (elem is null) { sb.Append(layout[i]); i++; continue; }
            i += len;
            switch (elem)
            {
                case "January": sb.Append(LongMonths[t.Month - 1]); break;
                case "Jan": sb.Append(LongMonths[t.Month - 1].AsSpan(0, 3)); break;
                case "Monday": sb.Append(LongDays[(int)t.DayOfWeek]); break;
                case "Mon": sb.Append(LongDays[(int)t.DayOfWeek].AsSpan(0, 3)); break;
                case "MST": sb.Append(ZoneName(t, zone)); break;
                case "2006": sb.Append(t.Year.ToString("D4", CultureInfo.InvariantCulture)); break;
                case "06": sb.Append((t.Year % 100).ToString("D2", CultureInfo.InvariantCulture)); break;
                case "01": sb.Append(t.Month.ToString("D2", CultureInfo.InvariantCulture)); break;
                case "1": sb.Append(t.Month); break;
                case "02": sb.Append(t.Day.ToString("D2", CultureInfo.InvariantCulture)); break;
                case "2": sb.Append(t.Day); break;
                case "_2": sb.Append(t.Day.ToString(CultureInfo.InvariantCulture).PadLeft(2)); break;
                case "__2": sb.Append(t.DayOfYear.ToString(CultureInfo.InvariantCulture).PadLeft(3)); break;
                case "002": sb.Append(t.DayOfYear.ToString("D3", CultureInfo.InvariantCulture)); break;
                case "15": sb.Append(t.Hour.ToString("D2", CultureInfo.InvariantCulture)); break;
                case "03": sb.Append(Hour12(t).ToString("D2", CultureInfo.InvariantCulture)); break;
                case "3": sb.Append(Hour12(t)); break;
                case "04": sb.Append(t.Minute.ToString("D2", CultureInfo.InvariantCulture)); break;
                case "4": sb.Append(t.Minute); break;
                case "05": sb.Append(t.Second.ToString("D2", CultureInfo.InvariantCulture)); break;
                case "5": sb.Append(t.Second); break;
                case "PM": sb.Append(t.Hour >= 12 ? "PM" : "AM"); break;
                case "pm": sb.Append(t.Hour >= 12 ? "pm" : "am"); break;
                default:
                    if (elem[0] == 'Z')
                    {
                        if (t.Offset == TimeSpan.Zero) sb.Append('Z');
                        else sb.Append(NumericZone(t.Offset, "-" + elem[1..]));
                    }
                    else if (elem[0] == '-') sb.Append(NumericZone(t.Offset, elem));
                    break;
            }
            // Fractional seconds: ".000" / ",000" (fixed) or ".999" (trailing zeros dropped) right after seconds.
            if (elem is "05" or "5" && i + 1 < layout.Length && layout[i] is '.' or ',' && layout[i + 1] is '0' or '9')
            {
                var c = layout[i + 1];
                var j = i + 1;
                while (j < layout.Length && layout[j] == c) j++;
                if (j < layout.Length && char.IsAsciiDigit(layout[j])) continue;
                var n = j - i - 1;
                var ticks = t.Ticks % TimeSpan.TicksPerSecond;
                var frac = (ticks * 100).ToString("D9", CultureInfo.InvariantCulture)[..Math.Min(n, 9)].PadRight(n, '0');
                if (c == '9')
                {
                    frac = frac.TrimEnd('0');
                    if (frac.Length > 0) sb.Append(layout[i]).Append(frac);
                }
                else sb.Append(layout[i]).Append(frac);
                i = j;
            }
        }
        return sb.ToString();
    }

    private static int Hour12(DateTimeOffset t)
    {
        var h = t.Hour % 12;
        return h == 0 ? 12 : h;
    }

    private static (string? Elem, int Len) Match(string layout, int i)
    {
        var c = layout[i];
        if (c is not ('J' or 'M' or '0' or '1' or '2' or '_' or '3' or '4' or '5' or 'P' or 'p' or 'Z' or '-')) return (null, 0);
        foreach (var e in Elements)
        {
            if (string.CompareOrdinal(layout, i, e, 0, e.Length) != 0) continue;
            if (e is "Jan" && string.CompareOrdinal(layout, i, "January", 0, 7) == 0) return ("January", 7);
            if (e is "Mon" && string.CompareOrdinal(layout, i, "Monday", 0, 6) == 0) return ("Monday", 6);
            if (e is "Mon" or "Monday" or "Jan" or "January")
            {
                // "Month" is not a layout element: Mon followed by a lower-case letter is literal text.
                var after = i + e.Length;
                if (e == "Mon" && after < layout.Length && char.IsLower(layout[after])) return (null, 0);
            }
            if (e == "2" && string.CompareOrdinal(layout, i, "2006", 0, 4) == 0) return ("2006", 4);
            return (e, e.Length);
        }
        return (null, 0);
    }
}
