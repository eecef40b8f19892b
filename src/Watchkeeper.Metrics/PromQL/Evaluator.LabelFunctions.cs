using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using Watchkeeper.Metrics.Model;

namespace Watchkeeper.Metrics.PromQL;

internal sealed partial class Evaluator
{
    // ---- label functions --------------------------------------------------------------------

    private List<Elem> LabelReplace(Call c, long t)
    {
        var v = Eval(c.Args[0], t).Vec!;
        var dst = Eval(c.Args[1], t).Str!;
        var repl = Eval(c.Args[2], t).Str!;
        var src = Eval(c.Args[3], t).Str!;
        var pattern = Eval(c.Args[4], t).Str!;
        if (!_regexCache.TryGetValue(pattern, out var cached))
        {
            try
            {
                var (plain, names, groups) = Re2Groups.Translate(pattern);
                var compiled = new Regex("^(?s:" + plain + ")$", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(5));
                cached = (compiled, groups + 1, names);
                _regexCache[pattern] = cached;
            }
            catch (ArgumentException ex) { throw new QueryException("invalid regular expression in label_replace(): " + ex.Message); }
        }
        var re = cached.Regex;
        if (!Fmt.IsValidLabelName(dst)) throw new QueryException("invalid destination label name in label_replace(): " + dst);
        var res = new List<Elem>(v.Count);
        foreach (var e in v)
        {
            var m = re.Match(e.Labels.GetOrEmpty(src));
            if (!m.Success) { res.Add(e); continue; }
            var value = ExpandTemplate(repl, m, cached.GroupCount, cached.GroupNames);
            var drop = e.DropName && dst != Labels.MetricName;
            res.Add(new Elem(SetLabel(e.Labels, dst, value), e.V, drop));
        }
        CheckUniqueLabels(res);
        return res;
    }

    private static void CheckUniqueLabels(List<Elem> res)
    {
        if (res.Count < 2) return;
        var seen = new HashSet<Labels>();
        foreach (var e in res)
            if (!seen.Add(e.Labels)) throw new QueryException("vector cannot contain metrics with the same labelset");
    }

    private List<Elem> LabelJoin(Call c, long t)
    {
        var v = Eval(c.Args[0], t).Vec!;
        var dst = Eval(c.Args[1], t).Str!;
        var sep = Eval(c.Args[2], t).Str!;
        var srcs = new List<string>();
        for (var i = 3; i < c.Args.Count; i++)
        {
            var s = Eval(c.Args[i], t).Str!;
            if (!Fmt.IsValidLabelName(s)) throw new QueryException("invalid source label name in label_join(): " + s);
            srcs.Add(s);
        }
        if (!Fmt.IsValidLabelName(dst)) throw new QueryException("invalid destination label name in label_join(): " + dst);
        var res = new List<Elem>(v.Count);
        var sb = new StringBuilder();
        foreach (var e in v)
        {
            sb.Clear();
            for (var i = 0; i < srcs.Count; i++)
            {
                if (i > 0) sb.Append(sep);
                sb.Append(e.Labels.GetOrEmpty(srcs[i]));
            }
            var drop = e.DropName && dst != Labels.MetricName;
            res.Add(new Elem(SetLabel(e.Labels, dst, sb.ToString()), e.V, drop));
        }
        CheckUniqueLabels(res);
        return res;
    }

    private static Labels SetLabel(Labels l, string name, string value)
    {
        var cur = l.Get(name);
        if (cur == value || (cur is null && value.Length == 0)) return l;
        var list = new List<Label>(l.Count + 1);
        foreach (var x in l) if (x.Name != name) list.Add(x);
        if (value.Length > 0) list.Add(new Label(name, value));
        return Labels.From(list);
    }


    /// <summary>Go regexp.Expand semantics: $1, ${1}, $name, ${name}, $$; $name takes the longest word.</summary>
    private readonly Dictionary<string, (Regex Regex, int GroupCount, Dictionary<string, int> GroupNames)> _regexCache = new(StringComparer.Ordinal);

    private static bool IsWord(char c) => char.IsAsciiLetterOrDigit(c) || c == '_';

    private static bool AllDigits(string s)
    {
        foreach (var c in s) if (!char.IsAsciiDigit(c)) return false;
        return true;
    }

    private static string ExpandTemplate(string template, Match m, int groupCount, Dictionary<string, int> groupNames)
    {
        if (!template.Contains('$', StringComparison.Ordinal)) return template;
        var sb = new StringBuilder();
        for (var i = 0; i < template.Length; i++)
        {
            var ch = template[i];
            if (ch != '$' || i + 1 >= template.Length) { sb.Append(ch); continue; }
            var nx = template[i + 1];
            if (nx == '$') { sb.Append('$'); i++; continue; }
            string? name = null;
            var end = i;
            if (nx == '{')
            {
                var close = template.IndexOf('}', i + 2);
                if (close > i + 2)
                {
                    var inner = template[(i + 2)..close];
                    var word = true;
                    foreach (var x in inner) if (!IsWord(x)) { word = false; break; }
                    if (word) { name = inner; end = close; }
                }
            }
            else
            {
                var j = i + 1;
                while (j < template.Length && (char.IsAsciiLetterOrDigit(template[j]) || template[j] == '_')) j++;
                if (j > i + 1) { name = template[(i + 1)..j]; end = j - 1; }
            }
            if (name is null) { sb.Append(ch); continue; }
            i = end;
            Group g;
            if (AllDigits(name))
            {
                if (!int.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out var num) || num >= groupCount) continue;
                g = m.Groups[num];
            }
            else
            {
                if (!groupNames.TryGetValue(name, out var gi)) continue;
                g = m.Groups[gi];
            }
            if (g.Success) sb.Append(g.Value);
        }
        return sb.ToString();
    }

    /// <summary>Natural order: digit runs compare numerically.</summary>
    internal static int NaturalCompare(string a, string b)
    {
        int i = 0, j = 0;
        while (i < a.Length && j < b.Length)
        {
            if (char.IsAsciiDigit(a[i]) && char.IsAsciiDigit(b[j]))
            {
                var si = i; var sj = j;
                while (i < a.Length && char.IsAsciiDigit(a[i])) i++;
                while (j < b.Length && char.IsAsciiDigit(b[j])) j++;
                var na = a[si..i].TrimStart('0');
                var nb = b[sj..j].TrimStart('0');
                if (na.Length != nb.Length) return na.Length.CompareTo(nb.Length);
                var c = string.CompareOrdinal(na, nb);
                if (c != 0) return c;
                continue;
            }
            if (a[i] != b[j]) return a[i].CompareTo(b[j]);
            i++; j++;
        }
        return (a.Length - i).CompareTo(b.Length - j);
    }
}
