using System.Globalization;

namespace Watchkeeper.Server.Dashboards;

/// <summary>
/// Grafana's unit ids (<c>fieldConfig.defaults.unit</c>) as text: time (<c>s</c>, <c>ms</c>, <c>µs</c>, <c>ns</c>), <c>percent</c>
/// (0-100), <c>percentunit</c> (0-1), data (<c>bytes</c> IEC, <c>decbytes</c> SI, <c>bits</c>), rates (<c>Bps</c>, <c>bps</c>,
/// <c>reqps</c>, <c>ops</c>, <c>rps</c>, <c>wps</c>, <c>iops</c>), <c>hertz</c>, <c>short</c>/<c>none</c> and <c>suffix:</c>/<c>prefix:</c>
/// custom units. wwwroot/js/dashboard.js has the same table for axes drawn in the browser.
/// </summary>
public static class Units
{
    private static readonly string[] Short = ["", " K", " Mil", " Bil", " Tri", " Quadr"];
    private static readonly string[] Iec = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    private static readonly string[] Si = ["B", "kB", "MB", "GB", "TB", "PB"];

    public static string Format(double v, string unit, int? decimals = null)
    {
        if (double.IsNaN(v)) return "NaN";
        if (double.IsPositiveInfinity(v)) return "+Inf";
        if (double.IsNegativeInfinity(v)) return "-Inf";
        switch (unit)
        {
            case "percent": return Num(v, decimals) + "%";
            case "percentunit": return Num(v * 100, decimals) + "%";
            case "s": return Time(v, decimals);
            case "ms": return Time(v / 1e3, decimals);
            case "µs" or "us": return Time(v / 1e6, decimals);
            case "ns": return Time(v / 1e9, decimals);
            case "m": return Time(v * 60, decimals);
            case "h": return Time(v * 3600, decimals);
            case "d": return Time(v * 86400, decimals);
            case "dtdurations": return Time(v, decimals);
            case "bytes": return Scaled(v, 1024, Iec, " ", decimals);
            case "decbytes": return Scaled(v, 1000, Si, " ", decimals);
            case "bits": return Scaled(v, 1000, ["b", "kb", "Mb", "Gb", "Tb", "Pb"], " ", decimals);
            case "kbytes": return Scaled(v * 1024, 1024, Iec, " ", decimals);
            case "mbytes": return Scaled(v * 1024 * 1024, 1024, Iec, " ", decimals);
            case "Bps" or "binBps": return Scaled(v, 1024, Iec, " ", decimals) + "/s";
            case "decBps": return Scaled(v, 1000, Si, " ", decimals) + "/s";
            case "bps" or "binbps": return Scaled(v, 1000, ["b", "kb", "Mb", "Gb", "Tb", "Pb"], " ", decimals) + "/s";
            case "reqps": return ShortNum(v, decimals) + " req/s";
            case "rps": return ShortNum(v, decimals) + " rd/s";
            case "wps": return ShortNum(v, decimals) + " wr/s";
            case "iops": return ShortNum(v, decimals) + " io/s";
            case "ops": return ShortNum(v, decimals) + " ops/s";
            case "opm": return ShortNum(v, decimals) + " ops/min";
            case "reqpm" or "rpm": return ShortNum(v, decimals) + " req/min";
            case "hertz": return Scaled(v, 1000, ["Hz", "kHz", "MHz", "GHz", "THz", "PHz"], " ", decimals);
            case "celsius": return Num(v, decimals) + "°C";
            case "none": return Num(v, decimals);
            case "" or "short": return ShortNum(v, decimals);
        }
        if (unit.StartsWith("suffix:", StringComparison.Ordinal)) return ShortNum(v, decimals) + unit[7..];
        if (unit.StartsWith("prefix:", StringComparison.Ordinal)) return unit[7..] + ShortNum(v, decimals);
        return ShortNum(v, decimals) + " " + unit;
    }

    /// <summary>Whether values of this unit are fractions shown as percentages (a gauge's default max is then 1, not 100).</summary>
    public static double DefaultMax(string unit) => unit switch { "percentunit" => 1, _ => 100 };

    internal static string Num(double v, int? decimals)
    {
        var d = decimals ?? AutoDecimals(v);
        return v.ToString("F" + d.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture) is var s && decimals is null && s.Contains('.') ? s.TrimEnd('0').TrimEnd('.') : s;
    }

    private static int AutoDecimals(double v)
    {
        var a = Math.Abs(v);
        if (a == 0 || a >= 100) return 0;
        if (a >= 10) return 1;
        if (a >= 1) return 2;
        // Three significant digits below 1.
        return Math.Min(10, 2 - (int)Math.Floor(Math.Log10(a)));
    }

    private static string ShortNum(double v, int? decimals) => Scaled(v, 1000, Short, "", decimals);

    private static string Scaled(double v, double factor, string[] suffixes, string sep, int? decimals)
    {
        var i = 0;
        var a = Math.Abs(v);
        while (a >= factor && i < suffixes.Length - 1)
        {
            a /= factor;
            v /= factor;
            i++;
        }
        var s = suffixes[i];
        return Num(v, decimals) + (s.Length == 0 ? "" : sep.Length == 0 ? s : sep + s.TrimStart());
    }

    private static string Time(double seconds, int? decimals)
    {
        var a = Math.Abs(seconds);
        if (a == 0) return "0 s";
        if (a < 1e-6) return Num(seconds * 1e9, decimals) + " ns";
        if (a < 1e-3) return Num(seconds * 1e6, decimals) + " µs";
        if (a < 1) return Num(seconds * 1e3, decimals) + " ms";
        if (a < 60) return Num(seconds, decimals) + " s";
        if (a < 3600) return Num(seconds / 60, decimals) + " min";
        if (a < 86400) return Num(seconds / 3600, decimals) + " hour";
        if (a < 86400 * 365) return Num(seconds / 86400, decimals) + " day";
        return Num(seconds / (86400 * 365), decimals) + " year";
    }
}
