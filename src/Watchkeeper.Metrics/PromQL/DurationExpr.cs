using System.Globalization;

namespace Watchkeeper.Metrics.PromQL;

/// <summary>
/// A duration written as arithmetic (experimental PromQL): <c>x[5m + step()]</c>, <c>offset (1h - 5m)</c>.
/// Numbers are seconds; step() and range() are the query's step and range in seconds.
/// </summary>
public sealed class DurationExpr
{
    private enum Kind { Const, Step, Range, Neg, Binary, Min, Max }

    private readonly Kind _kind;
    private readonly double _value;
    private readonly BinaryOp _op;
    private readonly DurationExpr? _a, _b;

    private DurationExpr(Kind kind, double value = 0, BinaryOp op = BinaryOp.Add, DurationExpr? a = null, DurationExpr? b = null)
    {
        _kind = kind; _value = value; _op = op; _a = a; _b = b;
    }

    internal static DurationExpr Const(double seconds) => new(Kind.Const, seconds);
    internal static DurationExpr StepFn() => new(Kind.Step);
    internal static DurationExpr RangeFn() => new(Kind.Range);
    internal static DurationExpr Neg(DurationExpr a) => new(Kind.Neg, a: a);
    internal static DurationExpr Bin(BinaryOp op, DurationExpr a, DurationExpr b) => new(Kind.Binary, op: op, a: a, b: b);
    internal static DurationExpr MinOf(DurationExpr a, DurationExpr b) => new(Kind.Min, a: a, b: b);
    internal static DurationExpr MaxOf(DurationExpr a, DurationExpr b) => new(Kind.Max, a: a, b: b);

    /// <summary>True when the value depends on the query's step or range.</summary>
    public bool IsDynamic => _kind is Kind.Step or Kind.Range || (_a?.IsDynamic ?? false) || (_b?.IsDynamic ?? false);

    /// <summary>Value in seconds.</summary>
    public double Eval(double stepSeconds, double rangeSeconds) => _kind switch
    {
        Kind.Const => _value,
        Kind.Step => stepSeconds,
        Kind.Range => rangeSeconds,
        Kind.Neg => -_a!.Eval(stepSeconds, rangeSeconds),
        Kind.Min => Math.Min(_a!.Eval(stepSeconds, rangeSeconds), _b!.Eval(stepSeconds, rangeSeconds)),
        Kind.Max => Math.Max(_a!.Eval(stepSeconds, rangeSeconds), _b!.Eval(stepSeconds, rangeSeconds)),
        _ => Evaluator.ScalarOp(_op, _a!.Eval(stepSeconds, rangeSeconds), _b!.Eval(stepSeconds, rangeSeconds)).V,
    };

    /// <summary>Value in milliseconds.</summary>
    public long EvalMs(double stepSeconds, double rangeSeconds)
    {
        var s = Eval(stepSeconds, rangeSeconds);
        if (double.IsNaN(s) || Math.Abs(s) > Model.PromDuration.MaxValue.TotalSeconds) throw new QueryException("duration expression out of range");
        return (long)Math.Round(s * 1000);
    }

    public override string ToString() => _kind switch
    {
        Kind.Const => _value.ToString("R", CultureInfo.InvariantCulture),
        Kind.Step => "step()",
        Kind.Range => "range()",
        Kind.Neg => "-(" + _a + ")",
        Kind.Min => "min_of(" + _a + ", " + _b + ")",
        Kind.Max => "max_of(" + _a + ", " + _b + ")",
        _ => "(" + _a + " " + BinaryExpr.OpText(_op) + " " + _b + ")",
    };
}
