using System.Globalization;
using System.Text;
using Watchkeeper.Metrics.Model;

namespace Watchkeeper.Metrics.PromQL;

/// <summary>The type an expression evaluates to.</summary>
public enum ValueKind { None, Scalar, String, Vector, Matrix }

/// <summary>Binary operators, including the set operators and comparisons.</summary>
public enum BinaryOp { Add, Sub, Mul, Div, Mod, Pow, Atan2, Eq, Ne, Gt, Lt, Ge, Le, And, Or, Unless }

/// <summary>Aggregation operators.</summary>
public enum AggregateOp { Sum, Min, Max, Avg, Group, Stddev, Stdvar, Count, CountValues, Bottomk, Topk, Quantile, Limitk, LimitRatio }

/// <summary>Cardinality of vector matching in a binary expression.</summary>
public enum MatchCardinality { OneToOne, ManyToOne, OneToMany, ManyToMany }

/// <summary>Experimental range modifiers: <c>x[5m] anchored</c>, <c>x[5m] smoothed</c>, <c>x smoothed</c>.</summary>
public enum RangeModifier { None, Anchored, Smoothed }

/// <summary>How an <c>@</c> modifier was written.</summary>
public enum AtKind { None, Timestamp, Start, End }

/// <summary>An <c>@</c> modifier: a fixed timestamp (ms) or the query's start()/end().</summary>
public readonly record struct AtModifier(AtKind Kind, long Ms)
{
    public static readonly AtModifier None = default;
    public bool IsSet => Kind != AtKind.None;

    public override string ToString() => Kind switch
    {
        AtKind.Start => " @ start()",
        AtKind.End => " @ end()",
        AtKind.Timestamp => " @ " + FormatSeconds(Ms),
        _ => "",
    };

    internal static string FormatSeconds(long ms) => (ms / 1000.0).ToString("0.###", CultureInfo.InvariantCulture);
}

/// <summary>Base of every PromQL syntax node. <see cref="Pos"/> is the 0-based char offset of the node's start.</summary>
public abstract class Expr
{
    public int Pos { get; init; }
    public abstract ValueKind Type { get; }

    internal static string FormatDuration(long ms)
    {
        if (ms == 0) return "0s";
        var sb = new StringBuilder();
        if (ms < 0) { sb.Append('-'); ms = -ms; }
        void Part(long unit, string suffix)
        {
            if (ms >= unit) { sb.Append(ms / unit).Append(suffix); ms %= unit; }
        }
        Part(365L * 24 * 3600 * 1000, "y");
        Part(7L * 24 * 3600 * 1000, "w");
        Part(24L * 3600 * 1000, "d");
        Part(3600L * 1000, "h");
        Part(60L * 1000, "m");
        Part(1000L, "s");
        Part(1L, "ms");
        return sb.ToString();
    }
}

public sealed class NumberLiteral(double value) : Expr
{
    public double Value { get; } = value;
    public override ValueKind Type => ValueKind.Scalar;
    public override string ToString() => double.IsPositiveInfinity(Value) ? "Inf" : double.IsNegativeInfinity(Value) ? "-Inf" : double.IsNaN(Value) ? "NaN" : Value.ToString("R", CultureInfo.InvariantCulture);
}

public sealed class StringLiteral(string value) : Expr
{
    public string Value { get; } = value;
    public override ValueKind Type => ValueKind.String;
    public override string ToString() => Fmt.Quote(Value);
}

public sealed class ParenExpr(Expr inner) : Expr
{
    public Expr Inner { get; } = inner;
    public override ValueKind Type => Inner.Type;
    public override string ToString() => "(" + Inner + ")";
}

/// <summary>Unary minus or plus.</summary>
public sealed class UnaryExpr(bool negate, Expr operand) : Expr
{
    public bool Negate { get; } = negate;
    public Expr Operand { get; } = operand;
    public override ValueKind Type => Operand.Type;
    public override string ToString() => (Negate ? "-" : "+") + Operand;
}

/// <summary>Vector matching modifiers of a binary expression.</summary>
public sealed class VectorMatching
{
    public MatchCardinality Card { get; set; } = MatchCardinality.OneToOne;
    /// <summary>True for <c>on(...)</c>, false for <c>ignoring(...)</c> or no modifier.</summary>
    public bool On { get; set; }
    public IReadOnlyList<string> MatchingLabels { get; set; } = [];
    /// <summary>Labels listed in group_left(...)/group_right(...).</summary>
    public IReadOnlyList<string> Include { get; set; } = [];
    /// <summary>fill_left(v) / fill(v): value used for a missing left-hand ("many") side (experimental PromQL).</summary>
    public double? FillLeft { get; set; }
    /// <summary>fill_right(v) / fill(v): value used for a missing right-hand ("one") side (experimental PromQL).</summary>
    public double? FillRight { get; set; }
    public bool HasFill => FillLeft is not null || FillRight is not null;
}

public sealed class BinaryExpr(BinaryOp op, Expr lhs, Expr rhs, bool returnBool, VectorMatching? matching) : Expr
{
    public BinaryOp Op { get; } = op;
    public Expr Lhs { get; } = lhs;
    public Expr Rhs { get; } = rhs;
    public bool ReturnBool { get; } = returnBool;
    /// <summary>Set when both sides are instant vectors.</summary>
    public VectorMatching? Matching { get; } = matching;
    public int OpPos { get; init; }

    public override ValueKind Type => Lhs.Type == ValueKind.Scalar && Rhs.Type == ValueKind.Scalar ? ValueKind.Scalar : ValueKind.Vector;

    public static bool IsComparison(BinaryOp op) => op is BinaryOp.Eq or BinaryOp.Ne or BinaryOp.Gt or BinaryOp.Lt or BinaryOp.Ge or BinaryOp.Le;
    public static bool IsSetOp(BinaryOp op) => op is BinaryOp.And or BinaryOp.Or or BinaryOp.Unless;

    public static string OpText(BinaryOp op) => op switch
    {
        BinaryOp.Add => "+", BinaryOp.Sub => "-", BinaryOp.Mul => "*", BinaryOp.Div => "/", BinaryOp.Mod => "%",
        BinaryOp.Pow => "^", BinaryOp.Atan2 => "atan2", BinaryOp.Eq => "==", BinaryOp.Ne => "!=", BinaryOp.Gt => ">",
        BinaryOp.Lt => "<", BinaryOp.Ge => ">=", BinaryOp.Le => "<=", BinaryOp.And => "and", BinaryOp.Or => "or",
        _ => "unless",
    };

    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.Append(Lhs).Append(' ').Append(OpText(Op));
        if (ReturnBool) sb.Append(" bool");
        if (Matching is { } m)
        {
            if (m.On || m.MatchingLabels.Count > 0) sb.Append(m.On ? " on(" : " ignoring(").Append(string.Join(", ", m.MatchingLabels)).Append(')');
            if (m.Card is MatchCardinality.ManyToOne or MatchCardinality.OneToMany)
                sb.Append(m.Card == MatchCardinality.ManyToOne ? " group_left(" : " group_right(").Append(string.Join(", ", m.Include)).Append(')');
            if (m.FillLeft is { } fl && m.FillRight is { } fr && (fl.Equals(fr)))
                sb.Append(" fill(").Append(new NumberLiteral(fl)).Append(')');
            else
            {
                if (m.FillLeft is { } l) sb.Append(" fill_left(").Append(new NumberLiteral(l)).Append(')');
                if (m.FillRight is { } r) sb.Append(" fill_right(").Append(new NumberLiteral(r)).Append(')');
            }
        }
        sb.Append(' ').Append(Rhs);
        return sb.ToString();
    }
}

/// <summary>An instant vector selector: <c>name{matchers} offset 5m @ 100</c>.</summary>
public sealed class VectorSelector(string? name, IReadOnlyList<LabelMatcher> matchers) : Expr
{
    public string? Name { get; } = name;
    public IReadOnlyList<LabelMatcher> Matchers { get; } = matchers;
    public long OffsetMs { get; set; }
    /// <summary>An offset written with step()/range() (experimental); evaluated per query.</summary>
    public DurationExpr? OffsetExpr { get; set; }
    public AtModifier At { get; set; }
    /// <summary>anchored/smoothed (experimental); on a range selector it lives here too.</summary>
    public RangeModifier Modifier { get; set; }
    internal bool OffsetSet { get; set; }
    public override ValueKind Type => ValueKind.Vector;

    public override string ToString()
    {
        var sb = new StringBuilder();
        var plainName = Name is not null && IsPlainName(Name) && !ReservedWords.Contains(Name);
        var rest = new List<string>();
        foreach (var m in Matchers)
        {
            if (plainName && m.Name == Labels.MetricName && m.Type == MatchOp.Equal && m.Value == Name) continue;
            var op = m.Type switch { MatchOp.Equal => "=", MatchOp.NotEqual => "!=", MatchOp.Regex => "=~", _ => "!~" };
            rest.Add((IsPlainName(m.Name) && !m.Name.Contains(':', StringComparison.Ordinal) ? m.Name : Fmt.Quote(m.Name)) + op + Fmt.Quote(m.Value));
        }
        if (plainName) sb.Append(Name);
        if (rest.Count > 0 || !plainName) sb.Append('{').Append(string.Join(", ", rest)).Append('}');
        return sb.ToString() + Modifiers();
    }

    private static readonly HashSet<string> ReservedWords = new(StringComparer.OrdinalIgnoreCase)
    {
        "and", "or", "unless", "atan2", "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset", "inf", "nan",
        "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk", "quantile", "limitk", "limit_ratio",
    };

    internal static bool IsPlainName(string s)
    {
        if (s.Length == 0 || char.IsAsciiDigit(s[0])) return false;
        foreach (var c in s) if (!(char.IsAsciiLetterOrDigit(c) || c == '_' || c == ':')) return false;
        return true;
    }

    internal string Modifiers() => (OffsetExpr is not null ? " offset " + OffsetExpr : OffsetMs != 0 ? " offset " + FormatDuration(OffsetMs) : "") + At +
        (Modifier == RangeModifier.Anchored ? " anchored" : Modifier == RangeModifier.Smoothed ? " smoothed" : "");
}

/// <summary>A range vector selector: <c>selector[5m]</c>; offset and @ live on the inner selector.</summary>
public sealed class MatrixSelector(VectorSelector selector, long rangeMs) : Expr
{
    public VectorSelector Selector { get; } = selector;
    public long RangeMs { get; } = rangeMs;
    /// <summary>A range written with step()/range() (experimental); evaluated per query.</summary>
    public DurationExpr? RangeExpr { get; init; }
    public override ValueKind Type => ValueKind.Matrix;

    public override string ToString()
    {
        var s = Selector.ToString();
        var mods = Selector.Modifiers();
        return s[..(s.Length - mods.Length)] + "[" + (RangeExpr?.ToString() ?? FormatDuration(RangeMs)) + "]" + mods;
    }
}

/// <summary>A subquery: <c>expr[range:step] offset o @ t</c>. StepMs 0 means the engine default.</summary>
public sealed class SubqueryExpr(Expr inner, long rangeMs, long stepMs) : Expr
{
    public Expr Inner { get; } = inner;
    public long RangeMs { get; } = rangeMs;
    public long StepMs { get; } = stepMs;
    public long OffsetMs { get; set; }
    public DurationExpr? RangeExpr { get; init; }
    public DurationExpr? StepExpr { get; init; }
    public DurationExpr? OffsetExpr { get; set; }
    public AtModifier At { get; set; }
    internal bool OffsetSet { get; set; }
    public override ValueKind Type => ValueKind.Matrix;
    public override string ToString() => Inner + "[" + (RangeExpr?.ToString() ?? FormatDuration(RangeMs)) + ":" +
        (StepExpr?.ToString() ?? (StepMs > 0 ? FormatDuration(StepMs) : "")) + "]" +
        (OffsetExpr is not null ? " offset " + OffsetExpr : OffsetMs != 0 ? " offset " + FormatDuration(OffsetMs) : "") + At;
}

public sealed class Call(FunctionInfo func, IReadOnlyList<Expr> args) : Expr
{
    public FunctionInfo Func { get; } = func;
    public IReadOnlyList<Expr> Args { get; } = args;
    public override ValueKind Type => Func.ReturnType;
    public override string ToString() => Func.Name + "(" + string.Join(", ", Args) + ")";
}

public sealed class AggregateExpr(AggregateOp op, Expr expr, Expr? param, IReadOnlyList<string> grouping, bool without) : Expr
{
    public AggregateOp Op { get; } = op;
    public Expr Expr { get; } = expr;
    public Expr? Param { get; } = param;
    public IReadOnlyList<string> Grouping { get; } = grouping;
    public bool Without { get; } = without;
    internal bool HasGrouping { get; init; }
    public override ValueKind Type => ValueKind.Vector;

    public static string OpName(AggregateOp op) => op switch
    {
        AggregateOp.CountValues => "count_values",
        AggregateOp.LimitRatio => "limit_ratio",
        _ => op.ToString().ToLowerInvariant(),
    };

    public override string ToString()
    {
        var sb = new StringBuilder(OpName(Op));
        if (HasGrouping || Grouping.Count > 0) sb.Append(Without ? " without (" : " by (").Append(string.Join(", ", Grouping)).Append(") ");
        sb.Append('(');
        if (Param is not null) sb.Append(Param).Append(", ");
        sb.Append(Expr).Append(')');
        return sb.ToString();
    }
}

/// <summary>Pre-order walk of an expression tree.</summary>
public static class ExprWalker
{
    public static IEnumerable<Expr> Children(Expr e) => e switch
    {
        ParenExpr p => [p.Inner],
        UnaryExpr u => [u.Operand],
        BinaryExpr b => [b.Lhs, b.Rhs],
        MatrixSelector m => [m.Selector],
        SubqueryExpr s => [s.Inner],
        Call c => c.Args,
        AggregateExpr a => a.Param is null ? [a.Expr] : [a.Param, a.Expr],
        _ => [],
    };

    /// <summary>Visits nodes depth first; the visitor returns false to skip a node's children.</summary>
    public static void Walk(Expr e, Func<Expr, bool> visit)
    {
        if (!visit(e)) return;
        foreach (var c in Children(e)) Walk(c, visit);
    }
}
