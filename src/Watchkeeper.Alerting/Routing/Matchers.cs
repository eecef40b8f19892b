using System.Globalization;
using System.Text;
using Watchkeeper.Alerting.Alerts;
using Watchkeeper.Metrics.Model;

namespace Watchkeeper.Alerting.Routing;

/// <summary>One Alertmanager matcher: <c>name op "value"</c> with <c>= != =~ !~</c>; regexes fully anchored.</summary>
public sealed class Matcher
{
    private readonly LabelMatcher _m;

    public Matcher(MatchOp op, string name, string value)
    {
        try
        {
            _m = new LabelMatcher(op, name, value);
        }
        catch (ArgumentException ex)
        {
            throw new FormatException($"invalid regular expression \"{value}\": {ex.Message}", ex);
        }
    }

    public MatchOp Op => _m.Type;
    public string Name => _m.Name;
    public string Value => _m.Value;
    public bool IsRegex => Op is MatchOp.Regex or MatchOp.NotRegex;
    public bool IsEqual => Op is MatchOp.Equal or MatchOp.Regex;

    /// <summary>Matches a label set; a missing label is the empty string.</summary>
    public bool Matches(IReadOnlyDictionary<string, string> labels) => _m.Matches(labels.TryGetValue(Name, out var v) ? v : "");
    public bool MatchesValue(string value) => _m.Matches(value);

    public string OpText => Op switch { MatchOp.Equal => "=", MatchOp.NotEqual => "!=", MatchOp.Regex => "=~", _ => "!~" };

    public override string ToString() => Name + OpText + LabelSets.Quote(Value);

    public static int Compare(Matcher a, Matcher other)
    {
        var (Name, Value, Op) = (a.Name, a.Value, a.Op);
        var c = string.CompareOrdinal(Name, other.Name);
        if (c != 0) return c;
        c = string.CompareOrdinal(Value, other.Value);
        return c != 0 ? c : Op.CompareTo(other.Op);
    }

    public static MatchOp ParseOp(string op) => op switch
    {
        "=" => MatchOp.Equal,
        "!=" => MatchOp.NotEqual,
        "=~" => MatchOp.Regex,
        "!~" => MatchOp.NotRegex,
        _ => throw new FormatException($"unknown match operator \"{op}\""),
    };
}

/// <summary>A conjunction of matchers (all must match), printed as Alertmanager prints route keys.</summary>
public sealed class Matchers(IReadOnlyList<Matcher> list) : IReadOnlyList<Matcher>
{
    public static readonly Matchers Empty = new([]);
    private readonly Matcher[] _list = [.. list.Order(Comparer<Matcher>.Create(Matcher.Compare))];

    public Matcher this[int index] => _list[index];
    public int Count => _list.Length;
    public IEnumerator<Matcher> GetEnumerator() => ((IEnumerable<Matcher>)_list).GetEnumerator();
    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => _list.GetEnumerator();

    public bool Matches(IReadOnlyDictionary<string, string> labels)
    {
        foreach (var m in _list)
            if (!m.Matches(labels)) return false;
        return true;
    }

    public override string ToString() => "{" + string.Join(",", _list.Select(m => m.ToString())) + "}";
}

/// <summary>
/// Alertmanager's matcher syntax (the UTF-8 parser of 0.27+): <c>{a="b", c=~"d.*"}</c>, braces optional, names and
/// values quoted or bare, a trailing comma allowed. Errors are <see cref="FormatException"/>s saying where.
/// </summary>
public static class MatcherParser
{
    public static List<Matcher> ParseList(string input)
    {
        var s = input.Trim();
        var result = new List<Matcher>();
        var i = 0;
        var braces = s.StartsWith('{');
        if (braces)
        {
            if (!s.EndsWith('}')) throw new FormatException($"{input}: missing closing '}}'");
            s = s[1..^1];
        }
        while (true)
        {
            SkipWs(s, ref i);
            if (i >= s.Length) break;
            result.Add(ParseOne(s, ref i, input));
            SkipWs(s, ref i);
            if (i >= s.Length) break;
            if (s[i] != ',') throw new FormatException($"{input}: expected ',' or end of input at position {i}, found '{s[i]}'");
            i++;
        }
        if (result.Count == 0 && !braces) throw new FormatException($"{input}: no matchers");
        return result;
    }

    /// <summary>Parses exactly one matcher (<c>a="b"</c>, <c>a=~b.*</c>).</summary>
    public static Matcher ParseSingle(string input)
    {
        var list = ParseList(input);
        return list.Count == 1 ? list[0] : throw new FormatException($"{input}: expected one matcher, found {list.Count}");
    }

    private static Matcher ParseOne(string s, ref int i, string input)
    {
        string name;
        if (s[i] == '"') name = Quoted(s, ref i, input);
        else
        {
            var start = i;
            while (i < s.Length && s[i] is not ('=' or '!' or '~' or ',' or '{' or '}' or '"') && !char.IsWhiteSpace(s[i])) i++;
            name = s[start..i];
        }
        if (name.Length == 0) throw new FormatException($"{input}: expected a label name at position {i}");
        SkipWs(s, ref i);
        string op;
        if (i + 1 < s.Length && s.AsSpan(i, 2) is "=~" or "!=" or "!~") { op = s.Substring(i, 2); i += 2; }
        else if (i < s.Length && s[i] == '=') { op = "="; i++; }
        else throw new FormatException($"{input}: expected an operator (= != =~ !~) after \"{name}\"");
        SkipWs(s, ref i);
        string value;
        if (i < s.Length && s[i] == '"') value = Quoted(s, ref i, input);
        else
        {
            var start = i;
            while (i < s.Length && s[i] is not (',' or '{' or '}' or '"')) i++;
            value = s[start..i].TrimEnd();
            if (value.Contains('=') || value.Contains('~')) throw new FormatException($"{input}: unexpected operator in value \"{value}\"; quote the value");
        }
        return new Matcher(Matcher.ParseOp(op), name, value);
    }

    private static void SkipWs(string s, ref int i)
    {
        while (i < s.Length && char.IsWhiteSpace(s[i])) i++;
    }

    private static string Quoted(string s, ref int i, string input)
    {
        var sb = new StringBuilder();
        i++;
        while (i < s.Length)
        {
            var c = s[i++];
            if (c == '"') return sb.ToString();
            if (c != '\\') { sb.Append(c); continue; }
            if (i >= s.Length) break;
            var e = s[i++];
            switch (e)
            {
                case 'n': sb.Append('\n'); break;
                case 't': sb.Append('\t'); break;
                case 'r': sb.Append('\r'); break;
                case '\\': sb.Append('\\'); break;
                case '"': sb.Append('"'); break;
                case '\'': sb.Append('\''); break;
                case 'u' when i + 4 <= s.Length && int.TryParse(s.AsSpan(i, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var u):
                    sb.Append((char)u); i += 4; break;
                case 'x' when i + 2 <= s.Length && int.TryParse(s.AsSpan(i, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var x):
                    sb.Append((char)x); i += 2; break;
                default: throw new FormatException($"{input}: invalid escape sequence '\\{e}'");
            }
        }
        throw new FormatException($"{input}: unterminated quoted string");
    }
}
