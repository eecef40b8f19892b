using System.Text;

namespace Watchkeeper.Metrics.Model;

/// <summary>
/// RE2 (Prometheus) numbers every capture group left to right, named or not; .NET numbers named
/// groups after all unnamed ones. Relabeling and label_replace both expand <c>$1</c> and
/// <c>${name}</c> by RE2's numbering, so patterns are rewritten here before .NET compiles them.
/// </summary>
public static class Re2Groups
{
    /// <summary>
    /// Rewrites named groups <c>(?P&lt;n&gt;...)</c> / <c>(?&lt;n&gt;...)</c> as plain groups. Returns the pattern,
    /// each name's RE2 group number, and the number of capture groups.
    /// </summary>
    public static (string Pattern, Dictionary<string, int> Names, int Groups) Translate(string re)
    {
        var names = new Dictionary<string, int>(StringComparer.Ordinal);
        var sb = new StringBuilder(re.Length);
        var number = 0;
        var inClass = false;
        for (var i = 0; i < re.Length; i++)
        {
            var c = re[i];
            if (c == '\\' && i + 1 < re.Length)
            {
                sb.Append(c).Append(re[i + 1]);
                i++;
                continue;
            }
            if (inClass)
            {
                if (c == ']') inClass = false;
                sb.Append(c);
                continue;
            }
            if (c == '[')
            {
                inClass = true;
                sb.Append(c);
                if (i + 1 < re.Length && re[i + 1] == '^') sb.Append(re[++i]);
                if (i + 1 < re.Length && re[i + 1] == ']') sb.Append(re[++i]); // a leading ] is literal
                continue;
            }
            if (c == '(')
            {
                if (i + 1 < re.Length && re[i + 1] == '?')
                {
                    var nameStart = re.AsSpan(i).StartsWith("(?P<") ? i + 4 : re.AsSpan(i).StartsWith("(?<") && i + 3 < re.Length && re[i + 3] is not ('=' or '!') ? i + 3 : -1;
                    var close = nameStart < 0 ? -1 : re.IndexOf('>', nameStart);
                    if (close > nameStart)
                    {
                        number++;
                        names.TryAdd(re[nameStart..close], number);
                        sb.Append('(');
                        i = close;
                        continue;
                    }
                }
                else
                {
                    number++;
                }
            }
            sb.Append(c);
        }
        return (sb.ToString(), names, number);
    }
}
