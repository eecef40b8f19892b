using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Watchkeeper.Metrics.Model;

namespace Watchkeeper.Metrics.Templates;

/// <summary>String, regular-expression and humanize helpers shared by the Prometheus and Alertmanager function sets.</summary>
public static class CommonFunctions
{
    private static readonly ConcurrentDictionary<string, (Regex Re, Dictionary<string, int> Names, int Groups)> Regexes = new(StringComparer.Ordinal);

    private static (Regex Re, Dictionary<string, int> Names, int Groups) Compile(string pattern)
    {
        if (Regexes.TryGetValue(pattern, out var c)) return c;
        try
        {
            var (plain, names, groups) = Re2Groups.Translate(pattern);
            c = (new Regex(plain, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1)), names, groups);
        }
        catch (ArgumentException e)
        {
            throw new TemplateFunctionException($"error parsing regexp: {e.Message}");
        }
        if (Regexes.Count > 1000) Regexes.Clear();
        Regexes[pattern] = c;
        return c;
    }

    /// <summary>Go's regexp.MatchString: true if the pattern matches anywhere in the text.</summary>
    public static bool Match(string pattern, string text) => Compile(pattern).Re.IsMatch(text);

    /// <summary>Go's Regexp.ReplaceAllString: every match replaced, with $1, ${1}, $name, ${name} and $$ expanded.</summary>
    public static string ReplaceAll(string pattern, string replacement, string text)
    {
        var (re, names, groups) = Compile(pattern);
        return re.Replace(text, m => Expand(replacement, m, names, groups));
    }

    private static string Expand(string template, Match m, Dictionary<string, int> names, int groups)
    {
        var sb = new StringBuilder();
        var i = 0;
        while (i < template.Length)
        {
            var c = template[i];
            if (c != '$' || i + 1 >= template.Length) { sb.Append(c); i++; continue; }
            if (template[i + 1] == '$') { sb.Append('$'); i += 2; continue; }
            string name;
            var j = i + 1;
            if (template[j] == '{')
            {
                var close = template.IndexOf('}', j);
                if (close < 0) { sb.Append(c); i++; continue; }
                name = template[(j + 1)..close];
                if (name.Length == 0 || !name.All(ch => ch == '_' || char.IsAsciiLetterOrDigit(ch))) { sb.Append(c); i++; continue; }
                i = close + 1;
            }
            else
            {
                var k = j;
                while (k < template.Length && (template[k] == '_' || char.IsAsciiLetterOrDigit(template[k]))) k++;
                if (k == j) { sb.Append(c); i++; continue; }
                name = template[j..k];
                i = k;
            }
            if (name.All(char.IsAsciiDigit))
            {
                if (int.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n <= groups && m.Groups[n].Success)
                    sb.Append(m.Groups[n].Value);
            }
            else if (names.TryGetValue(name, out var g) && m.Groups[g].Success) sb.Append(m.Groups[g].Value);
        }
        return sb.ToString();
    }

    /// <summary>Go's strings.Title / cases.Title with NoLower: the first letter of each word upper-cased.</summary>
    public static string TitleNoLower(string s) => Title(s, lowerRest: false);

    /// <summary>cases.Title(language.AmericanEnglish): each word's first letter upper-cased, the rest lower-cased.</summary>
    public static string Title(string s, bool lowerRest)
    {
        var sb = new StringBuilder(s.Length);
        var inWord = false;
        foreach (var c in s)
        {
            var letter = char.IsLetterOrDigit(c) || c == '\'' || c == '_';
            if (!letter) { inWord = false; sb.Append(c); continue; }
            if (!inWord) { sb.Append(char.ToUpperInvariant(c)); inWord = true; }
            else sb.Append(lowerRest ? char.ToLowerInvariant(c) : c);
        }
        return sb.ToString();
    }

    /// <summary>Prometheus's convertToFloat: float64, int, string (strconv.ParseFloat) and durations (seconds).</summary>
    public static double ToFloat(object? v) => v switch
    {
        double d => d,
        float f => f,
        long l => l,
        int i => i,
        TimeSpan ts => ts.Ticks / (double)TimeSpan.TicksPerSecond,
        string s => ParseFloat(s),
        _ => throw new TemplateFunctionException($"can't convert {GoFmt.TypeName(v)} to float"),
    };

    private static double ParseFloat(string s)
    {
        if (Go.TryParseFloat(s, out var v, out var range))
        {
            if (range) throw new TemplateFunctionException($"strconv.ParseFloat: parsing {Go.Quote(s)}: value out of range");
            return v;
        }
        throw new TemplateFunctionException($"strconv.ParseFloat: parsing {Go.Quote(s)}: invalid syntax");
    }

    private static string G4(double v) => GoFloat.Format(v, 'g', 4);

    private static readonly string[] BigPrefixes = ["k", "M", "G", "T", "P", "E", "Z", "Y"];
    private static readonly string[] SmallPrefixes = ["m", "u", "n", "p", "f", "a", "z", "y"];
    private static readonly string[] BinaryPrefixes = ["ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"];

    /// <summary>Prometheus's humanize: SI prefixes, 4 significant digits (1234567 → 1.235M, 0.001234 → 1.234m).</summary>
    public static string Humanize(double v)
    {
        if (v == 0 || double.IsNaN(v) || double.IsInfinity(v)) return G4(v);
        var prefix = "";
        if (Math.Abs(v) >= 1)
        {
            foreach (var p in BigPrefixes)
            {
                if (Math.Abs(v) < 1000) break;
                prefix = p;
                v /= 1000;
            }
            return G4(v) + prefix;
        }
        foreach (var p in SmallPrefixes)
        {
            if (Math.Abs(v) >= 1) break;
            prefix = p;
            v *= 1000;
        }
        return G4(v) + prefix;
    }

    /// <summary>Prometheus's humanize1024: binary prefixes (1048576 → 1Mi).</summary>
    public static string Humanize1024(double v)
    {
        if (Math.Abs(v) <= 1 || double.IsNaN(v) || double.IsInfinity(v)) return G4(v);
        var prefix = "";
        foreach (var p in BinaryPrefixes)
        {
            if (Math.Abs(v) < 1024) break;
            prefix = p;
            v /= 1024;
        }
        return G4(v) + prefix;
    }

    /// <summary>Prometheus's humanizeDuration: seconds as <c>1d 2h 3m 4s</c>, sub-second values with SI prefixes.</summary>
    public static string HumanizeDuration(double v)
    {
        if (double.IsNaN(v) || double.IsInfinity(v)) return G4(v);
        if (v == 0) return G4(v) + "s";
        if (Math.Abs(v) >= 1)
        {
            var sign = "";
            if (v < 0) { sign = "-"; v = -v; }
            var whole = (long)v;
            var seconds = whole % 60;
            var minutes = whole / 60 % 60;
            var hours = whole / 60 / 60 % 24;
            var days = whole / 60 / 60 / 24;
            if (days != 0) return $"{sign}{days}d {hours}h {minutes}m {seconds}s";
            if (hours != 0) return $"{sign}{hours}h {minutes}m {seconds}s";
            if (minutes != 0) return $"{sign}{minutes}m {seconds}s";
            return $"{sign}{G4(v)}s";
        }
        var prefix = "";
        foreach (var p in SmallPrefixes)
        {
            if (Math.Abs(v) >= 1) break;
            prefix = p;
            v *= 1000;
        }
        return G4(v) + prefix + "s";
    }

    /// <summary>Prometheus's humanizePercentage: a ratio as a percentage with 4 significant digits.</summary>
    public static string HumanizePercentage(double v) => G4(v * 100) + "%";

    /// <summary>Seconds since the epoch to a UTC time at millisecond precision, as Prometheus's toTime; NaN/Inf are errors.</summary>
    public static DateTimeOffset FloatToTime(double v)
    {
        if (double.IsNaN(v) || double.IsInfinity(v)) throw new TemplateFunctionException("value is NaN or Inf");
        var ns = v * 1e9;
        if (ns > long.MaxValue || ns < long.MinValue)
            throw new TemplateFunctionException($"{GoFloat.Format(v, 'g', -1)} cannot be represented as a nanoseconds timestamp since it overflows int64");
        var ms = (long)ns / 1_000_000;
        return DateTimeOffset.UnixEpoch.AddTicks(ms * TimeSpan.TicksPerMillisecond);
    }

    /// <summary>Prometheus's humanizeTimestamp: <c>2015-06-23 13:19:44.128 +0000 UTC</c>; NaN/Inf printed as numbers.</summary>
    public static string HumanizeTimestamp(double v)
    {
        if (double.IsNaN(v) || double.IsInfinity(v)) return G4(v);
        return GoTime.ToGoString(FloatToTime(v), null);
    }

    /// <summary>Go's net.SplitHostPort, as much as stripPort and stripDomain need.</summary>
    internal static bool TrySplitHostPort(string hostPort, out string host, out string port)
    {
        host = port = "";
        if (hostPort.StartsWith('['))
        {
            var end = hostPort.IndexOf(']', StringComparison.Ordinal);
            if (end < 0 || end + 1 >= hostPort.Length || hostPort[end + 1] != ':') return false;
            host = hostPort[1..end];
            port = hostPort[(end + 2)..];
            return !port.Contains(':', StringComparison.Ordinal);
        }
        var colon = hostPort.LastIndexOf(':');
        if (colon < 0) return false;
        host = hostPort[..colon];
        port = hostPort[(colon + 1)..];
        return !host.Contains(':', StringComparison.Ordinal);
    }

    /// <summary>Prometheus's stripPort: the host of host:port, or the input when it has no port.</summary>
    public static string StripPort(string hostPort) => TrySplitHostPort(hostPort, out var host, out _) ? host : hostPort;

    /// <summary>Prometheus's stripDomain: the first label of a host name, keeping the port; IP addresses unchanged.</summary>
    public static string StripDomain(string hostPort)
    {
        if (!TrySplitHostPort(hostPort, out var host, out var port)) { host = hostPort; port = ""; }
        if (System.Net.IPAddress.TryParse(host, out _) && (host.Contains('.', StringComparison.Ordinal) || host.Contains(':', StringComparison.Ordinal))) return hostPort;
        host = host.Split('.')[0];
        if (port.Length > 0) return host.Contains(':', StringComparison.Ordinal) ? $"[{host}]:{port}" : $"{host}:{port}";
        return host;
    }

    /// <summary>Go's url.QueryEscape.</summary>
    public static string QueryEscape(string s)
    {
        var sb = new StringBuilder(s.Length + 8);
        foreach (var b in Encoding.UTF8.GetBytes(s))
        {
            var c = (char)b;
            if (char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '~') sb.Append(c);
            else if (c == ' ') sb.Append('+');
            else sb.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }
}
