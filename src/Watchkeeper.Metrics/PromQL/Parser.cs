using Watchkeeper.Metrics.Model;

namespace Watchkeeper.Metrics.PromQL;

/// <summary>Recursive-descent PromQL parser with precedence climbing and type checking.</summary>
public sealed partial class Parser
{
    private readonly string _input;
    private readonly List<Token> _tokens;
    private int _p;
    private int _depth;
    private const int MaxDepth = 256;

    private Parser(string input)
    {
        _input = input;
        _tokens = Lexer.Tokenize(input);
    }

    /// <summary>Parses and type-checks an expression. Throws <see cref="ParseException"/> on any error.</summary>
    public static Expr Parse(string input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var p = new Parser(input);
        if (p.Peek.Kind == TokenKind.Eof) throw new ParseException(0, "no expression found in input");
        var e = p.ParseExpr(0);
        if (p.Peek.Kind != TokenKind.Eof) throw p.Unexpected(p.Peek, "");
        if (TreeDepth(e, 0) > MaxDepth) throw new ParseException(e.Pos, "expression nested too deeply");
        p.Check(e);
        return e;
    }

    /// <summary>Parses a series selector such as <c>up{job="x"}</c> (used by the HTTP API's match[] parameters).</summary>
    public static VectorSelector ParseSelector(string input)
    {
        var e = Parse(input);
        while (e is ParenExpr pe) e = pe.Inner;
        return e as VectorSelector ?? throw new ParseException(0, "expected a vector selector");
    }

    /// <summary>Parses a duration such as <c>1h30m</c> or a number of seconds, in ms (the one grammar, <see cref="PromDuration"/>).</summary>
    public static long ParseDuration(string input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return PromDuration.TryParseSecondsOrDuration(input.Trim(), out var ms, out var error) ? ms : throw new ParseException(0, error);
    }

    private Token Peek => _tokens[_p];
    private Token PeekAt(int k) => _tokens[Math.Min(_p + k, _tokens.Count - 1)];
    private Token Next()
    {
        var t = _tokens[_p];
        if (_p < _tokens.Count - 1) _p++;
        return t;
    }

    private ParseException Unexpected(Token t, string context)
    {
        var what = t.Kind switch
        {
            TokenKind.Eof => "end of input",
            TokenKind.String => "string \"" + t.Text + "\"",
            TokenKind.Number => "number \"" + t.Text + "\"",
            TokenKind.Duration => "duration \"" + t.Text + "\"",
            TokenKind.Identifier => "identifier \"" + t.Text + "\"",
            _ => "\"" + t.Text + "\"",
        };
        return new ParseException(t.Pos, "unexpected " + what + (context.Length > 0 ? " " + context : ""));
    }

    private Token Expect(TokenKind kind, string context)
    {
        var t = Peek;
        if (t.Kind != kind) throw Unexpected(t, context);
        _p++;
        return t;
    }

    private static bool IsKeyword(Token t, string kw) => t.Kind == TokenKind.Identifier && string.Equals(t.Text, kw, StringComparison.OrdinalIgnoreCase);

    /// <summary>Depth of the tree, computed iteratively on left spines so long operator chains cannot overflow the stack.</summary>
    private static int TreeDepth(Expr root, int _)
    {
        var max = 0;
        var stack = new Stack<(Expr, int)>();
        stack.Push((root, 1));
        while (stack.Count > 0)
        {
            var (e, d) = stack.Pop();
            if (d > max) max = d;
            if (max > MaxDepth) return max;
            foreach (var c in ExprWalker.Children(e)) stack.Push((c, d + 1));
        }
        return max;
    }

    // ---- binary expressions -------------------------------------------------------------

    private static int Precedence(BinaryOp op) => op switch
    {
        BinaryOp.Or => 1,
        BinaryOp.And or BinaryOp.Unless => 2,
        BinaryOp.Eq or BinaryOp.Ne or BinaryOp.Gt or BinaryOp.Lt or BinaryOp.Ge or BinaryOp.Le => 3,
        BinaryOp.Add or BinaryOp.Sub => 4,
        BinaryOp.Mul or BinaryOp.Div or BinaryOp.Mod or BinaryOp.Atan2 => 5,
        _ => 6,
    };

    private bool TryBinaryOp(out BinaryOp op)
    {
        var t = Peek;
        op = t.Kind switch
        {
            TokenKind.Add => BinaryOp.Add, TokenKind.Sub => BinaryOp.Sub, TokenKind.Mul => BinaryOp.Mul,
            TokenKind.Div => BinaryOp.Div, TokenKind.Mod => BinaryOp.Mod, TokenKind.Pow => BinaryOp.Pow,
            TokenKind.Eq => BinaryOp.Eq, TokenKind.Ne => BinaryOp.Ne, TokenKind.Gt => BinaryOp.Gt,
            TokenKind.Lt => BinaryOp.Lt, TokenKind.Ge => BinaryOp.Ge, TokenKind.Le => BinaryOp.Le,
            _ => (BinaryOp)(-1),
        };
        if ((int)op >= 0) return true;
        if (t.Kind == TokenKind.Identifier)
        {
            switch (t.Text.ToLowerInvariant())
            {
                case "and": op = BinaryOp.And; return true;
                case "or": op = BinaryOp.Or; return true;
                case "unless": op = BinaryOp.Unless; return true;
                case "atan2": op = BinaryOp.Atan2; return true;
            }
        }
        return false;
    }

    private Expr ParseExpr(int minPrec)
    {
        if (++_depth > MaxDepth) throw new ParseException(Peek.Pos, "expression nested too deeply");
        try
        {
            var lhs = ParseUnary();
            while (TryBinaryOp(out var op))
            {
                var prec = Precedence(op);
                if (prec < minPrec) break;
                var opTok = Next();
                var returnBool = false;
                if (IsKeyword(Peek, "bool"))
                {
                    if (!BinaryExpr.IsComparison(op)) throw new ParseException(Peek.Pos, "bool modifier can only be used on comparison operators");
                    Next();
                    returnBool = true;
                }
                var matching = ParseMatching(op);
                var rhs = ParseExpr(op == BinaryOp.Pow ? prec : prec + 1);
                lhs = new BinaryExpr(op, lhs, rhs, returnBool, matching) { Pos = lhs.Pos, OpPos = opTok.Pos };
            }
            return lhs;
        }
        finally { _depth--; }
    }

    private VectorMatching? ParseMatching(BinaryOp op)
    {
        VectorMatching? m = null;
        if (IsKeyword(Peek, "on") || IsKeyword(Peek, "ignoring"))
        {
            var on = IsKeyword(Next(), "on");
            m = new VectorMatching { On = on, MatchingLabels = ParseLabelList() };
        }
        if (IsKeyword(Peek, "group_left") || IsKeyword(Peek, "group_right"))
        {
            var t = Next();
            if (BinaryExpr.IsSetOp(op)) throw new ParseException(t.Pos, $"no grouping allowed for \"{BinaryExpr.OpText(op)}\" operation");
            m ??= new VectorMatching();
            m.Card = IsKeyword(t, "group_left") ? MatchCardinality.ManyToOne : MatchCardinality.OneToMany;
            if (Peek.Kind == TokenKind.LParen) m.Include = ParseLabelList();
            foreach (var l in m.Include)
            {
                if (m.On && m.MatchingLabels.Contains(l)) throw new ParseException(t.Pos, $"label \"{l}\" must not occur in ON and GROUP clause at once");
            }
        }
        while (IsKeyword(Peek, "fill") || IsKeyword(Peek, "fill_left") || IsKeyword(Peek, "fill_right"))
        {
            if (PeekAt(1).Kind != TokenKind.LParen) break;
            var t = Next();
            if (BinaryExpr.IsSetOp(op)) throw new ParseException(t.Pos, $"fill modifiers are not allowed for \"{BinaryExpr.OpText(op)}\" operation");
            Next();
            var v = ParseFillValue();
            Expect(TokenKind.RParen, "in fill modifier, expected \")\"");
            m ??= new VectorMatching();
            var kw = t.Text.ToLowerInvariant();
            if (kw is "fill" or "fill_left")
            {
                if (m.FillLeft is not null) throw new ParseException(t.Pos, "fill value for the left side may only be set once");
                m.FillLeft = v;
            }
            if (kw is "fill" or "fill_right")
            {
                if (m.FillRight is not null) throw new ParseException(t.Pos, "fill value for the right side may only be set once");
                m.FillRight = v;
            }
        }
        return m;
    }

    private double ParseFillValue()
    {
        var neg = false;
        if (Peek.Kind is TokenKind.Sub or TokenKind.Add) neg = Next().Kind == TokenKind.Sub;
        var t = Next();
        double v;
        if (t.Kind == TokenKind.Number) v = t.Number;
        else if (IsKeyword(t, "inf")) v = double.PositiveInfinity;
        else if (IsKeyword(t, "nan")) v = double.NaN;
        else throw Unexpected(t, "in fill modifier, expected number");
        return neg ? -v : v;
    }

    private List<string> ParseLabelList()
    {
        Expect(TokenKind.LParen, "in grouping opts, expected \"(\"");
        var list = new List<string>();
        while (Peek.Kind != TokenKind.RParen)
        {
            var t = Next();
            if (t.Kind == TokenKind.Identifier && !t.Text.Contains(':', StringComparison.Ordinal)) list.Add(t.Text);
            else if (t.Kind == TokenKind.String) list.Add(t.Text);
            else throw Unexpected(t, "in grouping opts, expected label");
            if (Peek.Kind == TokenKind.Comma) Next();
            else if (Peek.Kind != TokenKind.RParen) throw Unexpected(Peek, "in grouping opts, expected \",\" or \")\"");
        }
        Next();
        return list;
    }

    private Expr ParseUnary()
    {
        var t = Peek;
        if (t.Kind is TokenKind.Sub or TokenKind.Add)
        {
            Next();
            var operand = ParseExpr(6); // binds tighter than * but looser than ^
            if (operand is NumberLiteral nl) return new NumberLiteral(t.Kind == TokenKind.Sub ? -nl.Value : nl.Value) { Pos = t.Pos };
            if (operand.Type is not (ValueKind.Scalar or ValueKind.Vector))
                throw new ParseException(t.Pos, $"unary expression only allowed on expressions of type scalar or instant vector, got {TypeName(operand.Type)}");
            return new UnaryExpr(t.Kind == TokenKind.Sub, operand) { Pos = t.Pos };
        }
        return ParsePostfix(ParsePrimary());
    }

    // ---- primary expressions --------------------------------------------------------------

    private Expr ParsePrimary()
    {
        var t = Peek;
        switch (t.Kind)
        {
            case TokenKind.Number:
            case TokenKind.Duration:
                Next();
                return new NumberLiteral(t.Number) { Pos = t.Pos };
            case TokenKind.String:
                Next();
                return new StringLiteral(t.Text) { Pos = t.Pos };
            case TokenKind.LParen:
                {
                    Next();
                    if (Peek.Kind == TokenKind.RParen) throw Unexpected(Peek, "in paren expression");
                    var inner = ParseExpr(0);
                    Expect(TokenKind.RParen, "in paren expression, expected \")\"");
                    return new ParenExpr(inner) { Pos = t.Pos };
                }
            case TokenKind.LBrace:
                return ParseSelector(null, t.Pos);
            case TokenKind.Identifier:
                return ParseIdentifierExpr();
            default:
                throw Unexpected(t, "");
        }
    }

    private static readonly Dictionary<string, AggregateOp> Aggregators = new(StringComparer.OrdinalIgnoreCase)
    {
        ["sum"] = AggregateOp.Sum, ["min"] = AggregateOp.Min, ["max"] = AggregateOp.Max, ["avg"] = AggregateOp.Avg,
        ["group"] = AggregateOp.Group, ["stddev"] = AggregateOp.Stddev, ["stdvar"] = AggregateOp.Stdvar, ["count"] = AggregateOp.Count,
        ["count_values"] = AggregateOp.CountValues, ["bottomk"] = AggregateOp.Bottomk, ["topk"] = AggregateOp.Topk,
        ["quantile"] = AggregateOp.Quantile, ["limitk"] = AggregateOp.Limitk, ["limit_ratio"] = AggregateOp.LimitRatio,
    };

    private static readonly HashSet<string> Keywords = new(StringComparer.OrdinalIgnoreCase)
    {
        "and", "or", "unless", "atan2", "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset",
    };

    private Expr ParseIdentifierExpr()
    {
        var t = Next();
        var next = Peek;
        if (Aggregators.TryGetValue(t.Text, out var agg) && (next.Kind == TokenKind.LParen || IsKeyword(next, "by") || IsKeyword(next, "without")))
            return ParseAggregation(agg, t);
        if (next.Kind == TokenKind.LParen)
        {
            if (!FunctionInfo.TryGet(t.Text, out var fn)) throw new ParseException(t.Pos, $"unknown function with name \"{t.Text}\"");
            return ParseCall(fn, t);
        }
        var lower = t.Text.ToLowerInvariant();
        if (lower is "inf") return new NumberLiteral(double.PositiveInfinity) { Pos = t.Pos };
        if (lower is "nan") return new NumberLiteral(double.NaN) { Pos = t.Pos };
        if (Keywords.Contains(t.Text) || Aggregators.ContainsKey(t.Text))
            throw Unexpected(t, "");
        if (next.Kind == TokenKind.LBrace) return ParseSelector(t.Text, t.Pos);
        return MakeSelector(t.Text, [], t.Pos);
    }

    private Expr ParseCall(FunctionInfo fn, Token nameTok)
    {
        Expect(TokenKind.LParen, "");
        var args = new List<Expr>();
        while (Peek.Kind != TokenKind.RParen)
        {
            // info()'s second argument is a label selector that may match the empty string.
            var selectorArg = fn.Name == "info" && args.Count == 1 && Peek.Kind == TokenKind.LBrace;
            if (selectorArg)
            {
                _allowEmptySelector = true;
                try { args.Add(ParseSelector(null, Peek.Pos)); }
                finally { _allowEmptySelector = false; }
            }
            else args.Add(ParseExpr(0));
            if (Peek.Kind == TokenKind.Comma)
            {
                Next();
                if (Peek.Kind == TokenKind.RParen) throw Unexpected(Peek, "in function call, expected expression");
            }
            else if (Peek.Kind != TokenKind.RParen) throw Unexpected(Peek, "in function call, expected \",\" or \")\"");
        }
        Next();
        return new Call(fn, args) { Pos = nameTok.Pos };
    }

    private Expr ParseAggregation(AggregateOp op, Token nameTok)
    {
        List<string>? grouping = null;
        var without = false;
        var hasGrouping = false;
        if (IsKeyword(Peek, "by") || IsKeyword(Peek, "without"))
        {
            without = IsKeyword(Next(), "without");
            grouping = ParseLabelList();
            hasGrouping = true;
        }
        Expect(TokenKind.LParen, "in aggregation, expected \"(\"");
        var args = new List<Expr>();
        while (Peek.Kind != TokenKind.RParen)
        {
            args.Add(ParseExpr(0));
            if (Peek.Kind == TokenKind.Comma) Next();
            else if (Peek.Kind != TokenKind.RParen) throw Unexpected(Peek, "in aggregation, expected \",\" or \")\"");
        }
        var close = Next();
        if (IsKeyword(Peek, "by") || IsKeyword(Peek, "without"))
        {
            if (hasGrouping) throw new ParseException(Peek.Pos, "aggregation grouping may only be given once");
            without = IsKeyword(Next(), "without");
            grouping = ParseLabelList();
            hasGrouping = true;
        }
        var needsParam = op is AggregateOp.Topk or AggregateOp.Bottomk or AggregateOp.Quantile or AggregateOp.CountValues or AggregateOp.Limitk or AggregateOp.LimitRatio;
        var want = needsParam ? 2 : 1;
        if (args.Count != want)
        {
            var detail = args.Count == 0 ? "no arguments for aggregate expression provided" :
                $"wrong number of arguments for aggregate expression provided, expected {want}, got {args.Count}";
            throw new ParseException(args.Count == 0 ? close.Pos : args[^1].Pos, detail);
        }
        var param = needsParam ? args[0] : null;
        return new AggregateExpr(op, args[^1], param, grouping ?? [], without) { Pos = nameTok.Pos, HasGrouping = hasGrouping };
    }

    private Expr ParseSelector(string? name, int pos)
    {
        Expect(TokenKind.LBrace, "");
        var matchers = new List<LabelMatcher>();
        while (Peek.Kind != TokenKind.RBrace)
        {
            var lt = Next();
            if (lt.Kind is not (TokenKind.Identifier or TokenKind.String)) throw Unexpected(lt, "in label matching, expected label");
            var opTok = Peek;
            if (lt.Kind == TokenKind.String && (opTok.Kind is TokenKind.Comma or TokenKind.RBrace))
            {
                // A quoted metric name: {"metric.name", job="x"}.
                if (name is not null) throw new ParseException(lt.Pos, "metric name must not be set twice: \"" + name + "\" or \"" + lt.Text + "\"");
                name = lt.Text;
            }
            else
            {
                Next();
                var mop = opTok.Kind switch
                {
                    TokenKind.Assign => MatchOp.Equal,
                    TokenKind.Ne => MatchOp.NotEqual,
                    TokenKind.RegexMatch => MatchOp.Regex,
                    TokenKind.RegexNoMatch => MatchOp.NotRegex,
                    _ => throw Unexpected(opTok, "in label matching, expected label matching operator"),
                };
                var vt = Next();
                if (vt.Kind != TokenKind.String) throw Unexpected(vt, "in label matching, expected string");
                try { matchers.Add(new LabelMatcher(mop, lt.Text, vt.Text)); }
                catch (ArgumentException ex) { throw new ParseException(vt.Pos, "invalid regular expression: " + ex.Message); }
            }
            if (Peek.Kind == TokenKind.Comma) Next();
            else if (Peek.Kind != TokenKind.RBrace) throw Unexpected(Peek, "in label matching, expected \",\" or \"}\"");
        }
        Next();
        return MakeSelector(name, matchers, pos, _allowEmptySelector);
    }

    private bool _allowEmptySelector;

    private static VectorSelector MakeSelector(string? name, List<LabelMatcher> matchers, int pos, bool allowEmpty = false)
    {
        if (name is not null)
        {
            foreach (var m in matchers)
            {
                if (m.Name == Labels.MetricName)
                    throw new ParseException(pos, $"metric name must not be set twice: \"{name}\" or \"{m.Value}\"");
            }
            matchers.Insert(0, new LabelMatcher(MatchOp.Equal, Labels.MetricName, name));
        }
        else
        {
            var nameMatcher = matchers.FirstOrDefault(m => m.Name == Labels.MetricName && m.Type == MatchOp.Equal);
            name = nameMatcher?.Value;
        }
        var anyNonEmpty = false;
        foreach (var m in matchers) if (!m.MatchesEmpty) { anyNonEmpty = true; break; }
        if (!anyNonEmpty && !allowEmpty) throw new ParseException(pos, "vector selector must contain at least one non-empty matcher");
        return new VectorSelector(name, matchers) { Pos = pos };
    }
}
