using System.Globalization;

namespace Watchkeeper.Metrics.PromQL;

/// <summary>Type checking of a parsed expression, with Prometheus's messages.</summary>
public sealed partial class Parser
{
    internal static string TypeName(ValueKind k) => k switch
    {
        ValueKind.Scalar => "scalar",
        ValueKind.String => "string",
        ValueKind.Vector => "instant vector",
        ValueKind.Matrix => "range vector",
        _ => "none",
    };

    private void Check(Expr e)
    {
        switch (e)
        {
            case ParenExpr p: Check(p.Inner); break;
            case UnaryExpr u:
                Check(u.Operand);
                if (u.Operand.Type is not (ValueKind.Scalar or ValueKind.Vector))
                    throw new ParseException(u.Pos, $"unary expression only allowed on expressions of type scalar or instant vector, got {TypeName(u.Operand.Type)}");
                break;
            case SubqueryExpr s: Check(s.Inner); break;
            case MatrixSelector: break;
            case BinaryExpr b:
                Check(b.Lhs);
                Check(b.Rhs);
                CheckBinary(b);
                break;
            case AggregateExpr a:
                Check(a.Expr);
                if (a.Param is not null) Check(a.Param);
                if (a.Expr.Type != ValueKind.Vector)
                    throw new ParseException(a.Expr.Pos, $"expected type instant vector in aggregation expression, got {TypeName(a.Expr.Type)}");
                if (a.Param is not null)
                {
                    var want = a.Op == AggregateOp.CountValues ? ValueKind.String : ValueKind.Scalar;
                    if (a.Param.Type != want)
                        throw new ParseException(a.Param.Pos, $"expected type {TypeName(want)} in aggregation parameter, got {TypeName(a.Param.Type)}");
                }
                break;
            case Call c:
                foreach (var arg in c.Args) Check(arg);
                CheckCall(c);
                break;
        }
    }

    private static void CheckBinary(BinaryExpr b)
    {
        var lt = b.Lhs.Type;
        var rt = b.Rhs.Type;
        if (lt is not (ValueKind.Scalar or ValueKind.Vector) || rt is not (ValueKind.Scalar or ValueKind.Vector))
            throw new ParseException(b.OpPos, "binary expression must contain only scalar and instant vector types");
        var bothVectors = lt == ValueKind.Vector && rt == ValueKind.Vector;
        if (BinaryExpr.IsSetOp(b.Op) && !bothVectors)
            throw new ParseException(b.OpPos, $"set operator \"{BinaryExpr.OpText(b.Op)}\" not allowed in binary scalar expression");
        if (b.Matching is not null && !bothVectors && (b.Matching.MatchingLabels.Count > 0 || b.Matching.On || b.Matching.Card != MatchCardinality.OneToOne || b.Matching.HasFill))
            throw new ParseException(b.OpPos, "vector matching only allowed between instant vectors");
        if (lt == ValueKind.Scalar && rt == ValueKind.Scalar && BinaryExpr.IsComparison(b.Op) && !b.ReturnBool)
            throw new ParseException(b.OpPos, "comparisons between scalars must use BOOL modifier");
    }

    private static void CheckCall(Call c)
    {
        var f = c.Func;
        var min = f.ArgTypes.Length - f.OptionalArgs;
        var n = c.Args.Count;
        if (n < min || (!f.Variadic && n > f.ArgTypes.Length))
        {
            var expected = f.Variadic ? $"at least {min}" : f.OptionalArgs > 0 ? $"at most {f.ArgTypes.Length}" : min.ToString(CultureInfo.InvariantCulture);
            if (n < min && !f.Variadic && f.OptionalArgs > 0) expected = $"at least {min}";
            throw new ParseException(c.Pos, $"expected {expected} argument(s) in call to \"{f.Name}\", got {n}");
        }
        if (f.Name == "info" && n == 2 && c.Args[1] is not VectorSelector)
            throw new ParseException(c.Args[1].Pos, "expected label selectors as the second argument to \"info\" function");
        for (var i = 0; i < n; i++)
        {
            var want = f.ArgTypes[Math.Min(i, f.ArgTypes.Length - 1)];
            var arg = c.Args[i];
            var got = arg.Type;
            if (got != want)
                throw new ParseException(arg.Pos, $"expected type {TypeName(want)} in call to function \"{f.Name}\", got {TypeName(got)}");
        }
    }
}
