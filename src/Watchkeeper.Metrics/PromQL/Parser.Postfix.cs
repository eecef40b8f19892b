using System.Globalization;
using Watchkeeper.Metrics.Model;

namespace Watchkeeper.Metrics.PromQL;

/// <summary>Postfix modifiers (ranges, subqueries, offset, @, anchored/smoothed) and duration expressions.</summary>
public sealed partial class Parser
{
    private Expr ParsePostfix(Expr e)
    {
        while (true)
        {
            var t = Peek;
            if (t.Kind == TokenKind.LBracket)
            {
                Next();
                var (range, rangeExpr) = ParseDurationExpr("in range", false);
                if (Peek.Kind == TokenKind.Colon)
                {
                    Next();
                    long step = 0;
                    DurationExpr? stepExpr = null;
                    if (Peek.Kind != TokenKind.RBracket) (step, stepExpr) = ParseDurationExpr("in subquery step", false);
                    Expect(TokenKind.RBracket, "in subquery, expected \"]\"");
                    if (e.Type != ValueKind.Vector) throw new ParseException(t.Pos, $"subquery is only allowed on instant vector, got {TypeName(e.Type)} instead");
                    if (rangeExpr is null && range <= 0) throw new ParseException(t.Pos, "subquery range must be positive");
                    if (stepExpr is null && step < 0) throw new ParseException(t.Pos, "subquery step must be positive");
                    e = new SubqueryExpr(e, range, step) { Pos = e.Pos, RangeExpr = rangeExpr, StepExpr = stepExpr };
                    continue;
                }
                Expect(TokenKind.RBracket, "in range, expected \"]\" or \":\"");
                if (e is not VectorSelector vs)
                    throw new ParseException(t.Pos, "ranges only allowed for vector selectors");
                if (vs.OffsetSet || vs.At.IsSet || vs.Modifier != RangeModifier.None) throw new ParseException(t.Pos, "no offset, @ or smoothed modifiers allowed before range");
                if (rangeExpr is null && range <= 0) throw new ParseException(t.Pos, "range must be positive");
                e = new MatrixSelector(vs, range) { Pos = e.Pos, RangeExpr = rangeExpr };
                continue;
            }
            if (IsKeyword(t, "offset"))
            {
                Next();
                var (d, dExpr) = ParseDurationExpr("in offset", true);
                switch (e)
                {
                    case VectorSelector v:
                        if (v.OffsetSet) throw new ParseException(t.Pos, "offset may not be set multiple times");
                        v.OffsetMs = d; v.OffsetExpr = dExpr; v.OffsetSet = true; break;
                    case MatrixSelector m:
                        if (m.Selector.OffsetSet) throw new ParseException(t.Pos, "offset may not be set multiple times");
                        m.Selector.OffsetMs = d; m.Selector.OffsetExpr = dExpr; m.Selector.OffsetSet = true; break;
                    case SubqueryExpr s:
                        if (s.OffsetSet) throw new ParseException(t.Pos, "offset may not be set multiple times");
                        s.OffsetMs = d; s.OffsetExpr = dExpr; s.OffsetSet = true; break;
                    default:
                        throw new ParseException(t.Pos, "offset modifier must be preceded by an instant vector selector or range vector selector or a subquery");
                }
                continue;
            }
            if (IsKeyword(t, "anchored") || IsKeyword(t, "smoothed"))
            {
                var mod = IsKeyword(t, "anchored") ? RangeModifier.Anchored : RangeModifier.Smoothed;
                var sel = e switch { VectorSelector v => v, MatrixSelector m => m.Selector, _ => null };
                if (sel is null) throw new ParseException(t.Pos, $"{t.Text.ToLowerInvariant()} modifier must be preceded by a vector selector");
                if (sel.Modifier != RangeModifier.None) throw new ParseException(t.Pos, "anchored/smoothed may only be set once");
                if (e is VectorSelector && mod == RangeModifier.Anchored) throw new ParseException(t.Pos, "anchored modifier can only be used with range vector selectors");
                Next();
                sel.Modifier = mod;
                continue;
            }
            if (t.Kind == TokenKind.At)
            {
                Next();
                var at = ParseAt();
                switch (e)
                {
                    case VectorSelector v:
                        if (v.At.IsSet) throw new ParseException(t.Pos, "@ <timestamp> may not be set multiple times");
                        v.At = at; break;
                    case MatrixSelector m:
                        if (m.Selector.At.IsSet) throw new ParseException(t.Pos, "@ <timestamp> may not be set multiple times");
                        m.Selector.At = at; break;
                    case SubqueryExpr s:
                        if (s.At.IsSet) throw new ParseException(t.Pos, "@ <timestamp> may not be set multiple times");
                        s.At = at; break;
                    default:
                        throw new ParseException(t.Pos, "@ modifier must be preceded by an instant vector selector or range vector selector or a subquery");
                }
                continue;
            }
            return e;
        }
    }

    private AtModifier ParseAt()
    {
        var t = Peek;
        if (IsKeyword(t, "start") || IsKeyword(t, "end"))
        {
            Next();
            Expect(TokenKind.LParen, "in @, expected \"(\"");
            Expect(TokenKind.RParen, "in @, expected \")\"");
            return new AtModifier(IsKeyword(t, "start") ? AtKind.Start : AtKind.End, 0);
        }
        var neg = false;
        if (t.Kind is TokenKind.Sub or TokenKind.Add) { Next(); neg = t.Kind == TokenKind.Sub; t = Peek; }
        double v;
        if (t.Kind is TokenKind.Number or TokenKind.Duration) v = t.Number;
        else if (IsKeyword(t, "inf") || IsKeyword(t, "nan")) v = double.NaN;
        else throw Unexpected(t, "in @, expected timestamp");
        Next();
        if (neg) v = -v;
        if (double.IsNaN(v) || double.IsInfinity(v) || Math.Abs(v) > 9.2e15)
            throw new ParseException(t.Pos, $"timestamp out of bounds for @ modifier: {v.ToString(CultureInfo.InvariantCulture)}");
        return new AtModifier(AtKind.Timestamp, (long)Math.Round(v * 1000));
    }

    /// <summary>
    /// A duration: a literal (1h30m), a number of seconds, or (experimental) arithmetic over them with step(),
    /// range(), min_of() and max_of(). After offset only one (signed) term is taken, so "x offset 1m + 2" adds 2
    /// to the selector. Constant expressions are folded; others are evaluated per query.
    /// </summary>
    private (long Ms, DurationExpr? Dynamic) ParseDurationExpr(string context, bool singleTerm)
    {
        var start = Peek;
        var d = singleTerm ? ParseDurUnary(context, true) : ParseDurBinary(context, 0);
        if (d.IsDynamic) return (0, d);
        var sec = d.Eval(0, 0);
        if (double.IsNaN(sec) || Math.Abs(sec) > PromDuration.MaxValue.TotalSeconds) throw new ParseException(start.Pos, "duration out of range");
        return ((long)Math.Round(sec * 1000), null);
    }

    private DurationExpr ParseDurBinary(string context, int minPrec)
    {
        if (++_depth > MaxDepth) throw new ParseException(Peek.Pos, "expression nested too deeply");
        try
        {
            var lhs = ParseDurUnary(context, false);
            while (true)
            {
                BinaryOp op;
                switch (Peek.Kind)
                {
                    case TokenKind.Add: op = BinaryOp.Add; break;
                    case TokenKind.Sub: op = BinaryOp.Sub; break;
                    case TokenKind.Mul: op = BinaryOp.Mul; break;
                    case TokenKind.Div: op = BinaryOp.Div; break;
                    case TokenKind.Mod: op = BinaryOp.Mod; break;
                    case TokenKind.Pow: op = BinaryOp.Pow; break;
                    default: return lhs;
                }
                var prec = Precedence(op);
                if (prec < minPrec) return lhs;
                Next();
                var rhs = ParseDurBinary(context, op == BinaryOp.Pow ? prec : prec + 1);
                lhs = DurationExpr.Bin(op, lhs, rhs);
            }
        }
        finally { _depth--; }
    }

    private DurationExpr ParseDurUnary(string context, bool singleTerm)
    {
        if (Peek.Kind is TokenKind.Sub or TokenKind.Add)
        {
            var neg = Next().Kind == TokenKind.Sub;
            // As in PromQL, unary minus binds looser than ^ (-2^2 is -4), except for a bare offset term.
            var operand = singleTerm ? ParseDurUnary(context, true) : ParseDurBinary(context, 6);
            return neg ? DurationExpr.Neg(operand) : operand;
        }
        var t = Next();
        switch (t.Kind)
        {
            case TokenKind.Duration:
                return DurationExpr.Const(t.DurationMs / 1000.0);
            case TokenKind.Number:
                return DurationExpr.Const(t.Number);
            case TokenKind.LParen:
                {
                    var inner = ParseDurBinary(context, 0);
                    Expect(TokenKind.RParen, context + ", expected \")\"");
                    return inner;
                }
            case TokenKind.Identifier when Peek.Kind == TokenKind.LParen:
                {
                    var fn = t.Text.ToLowerInvariant();
                    if (fn is "step" or "range")
                    {
                        Next();
                        Expect(TokenKind.RParen, context + ", expected \")\"");
                        return fn == "step" ? DurationExpr.StepFn() : DurationExpr.RangeFn();
                    }
                    if (fn is "min_of" or "max_of")
                    {
                        Next();
                        var a = ParseDurBinary(context, 0);
                        Expect(TokenKind.Comma, context + ", expected \",\"");
                        var b = ParseDurBinary(context, 0);
                        Expect(TokenKind.RParen, context + ", expected \")\"");
                        return fn == "min_of" ? DurationExpr.MinOf(a, b) : DurationExpr.MaxOf(a, b);
                    }
                    throw Unexpected(t, context + ", expected duration");
                }
            default:
                throw Unexpected(t, context + ", expected duration");
        }
    }
}
