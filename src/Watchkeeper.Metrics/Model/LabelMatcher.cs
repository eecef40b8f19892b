using System.Text.RegularExpressions;

namespace Watchkeeper.Metrics.Model;

public enum MatchOp { Equal, NotEqual, Regex, NotRegex }

/// <summary>A label matcher as in PromQL selectors. Regexes are fully anchored, as in Prometheus.</summary>
public sealed class LabelMatcher
{
    private readonly Regex? _regex;

    public LabelMatcher(MatchOp type, string name, string value)
    {
        Type = type;
        Name = name;
        Value = value;
        if (type is MatchOp.Regex or MatchOp.NotRegex)
        {
            // Throws ArgumentException on a bad pattern; callers turn it into a positioned parse error.
            _regex = new Regex("^(?:" + value + ")$", RegexOptions.CultureInvariant | RegexOptions.Singleline, TimeSpan.FromSeconds(1));
        }
    }

    public MatchOp Type { get; }
    public string Name { get; }
    public string Value { get; }

    /// <summary>Matches a label value; a missing label is the empty string.</summary>
    public bool Matches(string value) => Type switch
    {
        MatchOp.Equal => string.Equals(value, Value, StringComparison.Ordinal),
        MatchOp.NotEqual => !string.Equals(value, Value, StringComparison.Ordinal),
        MatchOp.Regex => _regex!.IsMatch(value),
        MatchOp.NotRegex => !_regex!.IsMatch(value),
        _ => false,
    };

    /// <summary>True when the matcher accepts the empty string (so it also matches series without the label).</summary>
    public bool MatchesEmpty => Matches("");

    public override string ToString() => Name + Type switch
    {
        MatchOp.Equal => "=",
        MatchOp.NotEqual => "!=",
        MatchOp.Regex => "=~",
        _ => "!~",
    } + "\"" + Value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}
