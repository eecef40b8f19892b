using System.Globalization;

namespace Watchkeeper.Metrics.Templates;

/// <summary>Where a template's text came from: the name errors carry (Go's ParseName) and the text itself.</summary>
internal sealed class TemplateSource(string parseName, string text)
{
    public string ParseName { get; } = parseName;
    public string Text { get; } = text;
}

/// <summary>A named template: the body of a top-level text or of a <c>define</c>/<c>block</c>.</summary>
internal sealed record TemplateDefinition(string Name, ListNode Root, TemplateSource Source)
{
    public bool IsEmpty => Parser.IsEmptyTree(Root);
}

/// <summary>
/// Builds the parse tree from the tokens, as Go's text/template/parse does: pipelines with declarations, commands,
/// operands with field chains, the control structures, and <c>define</c>/<c>block</c> bodies as separate named
/// templates. Function names are checked against the function set at parse time ("function "x" not defined").
/// </summary>
internal sealed class Parser
{
    private readonly List<Token> _tokens;
    private readonly TemplateSource _source;
    private readonly FunctionSet _funcs;
    private readonly Dictionary<string, TemplateDefinition> _defs;
    private List<string> _vars = ["$"];
    private int _i;
    private int _line = 1;
    private int _rangeDepth;

    private Parser(TemplateSource source, FunctionSet funcs, Dictionary<string, TemplateDefinition> defs, string? left, string? right)
    {
        _source = source;
        _funcs = funcs;
        _defs = defs;
        _tokens = Lexer.Lex(source.Text, left, right);
    }

    /// <summary>Parses <paramref name="text"/> as template <paramref name="name"/>; adds it and every define to <paramref name="defs"/>.</summary>
    public static void Parse(string name, string text, FunctionSet funcs, Dictionary<string, TemplateDefinition> defs,
        string? leftDelim = null, string? rightDelim = null)
    {
        var p = new Parser(new TemplateSource(name, text), funcs, defs, leftDelim, rightDelim);
        p.ParseTop(name);
    }

    public static bool IsEmptyTree(Node? n) => n switch
    {
        null => true,
        TextNode t => string.IsNullOrWhiteSpace(t.Text) && t.Text.All(c => c is ' ' or '\t' or '\n' or '\r'),
        ListNode l => l.Nodes.All(IsEmptyTree),
        _ => false,
    };

    private TemplateException Error(string message) =>
        new($"template: {_source.ParseName}:{_line}: {message}");

    private Token Next()
    {
        var t = _tokens[Math.Min(_i, _tokens.Count - 1)];
        _i++;
        _line = t.Line;
        if (t.Kind == TokenKind.Error) throw Error(t.Value);
        return t;
    }

    private Token Peek()
    {
        var t = _tokens[Math.Min(_i, _tokens.Count - 1)];
        _line = t.Line;
        if (t.Kind == TokenKind.Error) throw Error(t.Value);
        return t;
    }

    private void Backup() => _i--;

    private Token NextNonSpace()
    {
        Token t;
        do t = Next(); while (t.Kind == TokenKind.Space);
        return t;
    }

    private Token PeekNonSpace()
    {
        var t = NextNonSpace();
        Backup();
        return t;
    }

    private Token Expect(TokenKind kind, string context)
    {
        var t = NextNonSpace();
        if (t.Kind != kind) throw Unexpected(t, context);
        return t;
    }

    private TemplateException Unexpected(Token t, string context)
    {
        if (t.Kind == TokenKind.Error) return Error(t.Value);
        var shown = t.Kind switch
        {
            TokenKind.Eof => "EOF",
            _ when t.Kind >= TokenKind.If || t.Kind is TokenKind.Nil or TokenKind.Bool => "<" + t.Value + ">",
            _ when t.Value.Length > 10 => Go.Quote(t.Value[..10]) + "...",
            _ => Go.Quote(t.Value),
        };
        return Error($"unexpected {shown} in {context}");
    }

    private void AddDefinition(string name, ListNode root)
    {
        var def = new TemplateDefinition(name, root, _source);
        if (_defs.TryGetValue(name, out var existing) && !existing.IsEmpty)
        {
            if (def.IsEmpty) return;
            if (ReferenceEquals(existing.Source, _source)) throw Error($"template: multiple definition of template {Go.Quote(name)}");
        }
        _defs[name] = def;
    }

    private void ParseTop(string name)
    {
        var root = new ListNode(0);
        while (Peek().Kind != TokenKind.Eof)
        {
            if (Peek().Kind == TokenKind.LeftDelim)
            {
                var save = _i;
                Next();
                if (NextNonSpace().Kind == TokenKind.Define)
                {
                    ParseDefinition();
                    continue;
                }
                _i = save;
            }
            var n = TextOrAction();
            if (n is EndMarker or ElseMarker) throw Error($"unexpected {n}");
            root.Nodes.Add(n);
        }
        AddDefinition(name, root);
    }

    private void ParseDefinition()
    {
        const string context = "define clause";
        var nameTok = NextNonSpace();
        if (nameTok.Kind is not (TokenKind.String or TokenKind.RawString)) throw Unexpected(nameTok, context);
        var name = Unquote(nameTok);
        Expect(TokenKind.RightDelim, context);
        var saved = _vars;
        _vars = ["$"];
        var (list, end) = ItemList();
        _vars = saved;
        if (end is not EndMarker) throw Error($"unexpected {end} in {context}");
        AddDefinition(name, list);
    }

    private (ListNode, Node) ItemList()
    {
        var list = new ListNode(Peek().Pos);
        while (PeekNonSpace().Kind != TokenKind.Eof)
        {
            var n = TextOrAction();
            if (n is EndMarker or ElseMarker) return (list, n);
            list.Nodes.Add(n);
        }
        throw Error("unexpected EOF");
    }

    private Node TextOrAction()
    {
        var t = NextNonSpace();
        return t.Kind switch
        {
            TokenKind.Text => new TextNode(t.Pos, t.Value),
            TokenKind.LeftDelim => Action(),
            _ => throw Unexpected(t, "input"),
        };
    }

    private sealed class EndMarker(int pos) : Node(pos)
    {
        public override void WriteTo(System.Text.StringBuilder sb) => sb.Append("{{end}}");
    }

    private sealed class ElseMarker(int pos) : Node(pos)
    {
        public override void WriteTo(System.Text.StringBuilder sb) => sb.Append("{{else}}");
    }

    private Node Action()
    {
        var t = NextNonSpace();
        switch (t.Kind)
        {
            case TokenKind.Block: return BlockControl();
            case TokenKind.Break: return BreakControl(t, true);
            case TokenKind.Continue: return BreakControl(t, false);
            case TokenKind.Else:
                {
                    var peek = PeekNonSpace();
                    if (peek.Kind is TokenKind.If or TokenKind.With) return new ElseMarker(peek.Pos);
                    Expect(TokenKind.RightDelim, "else");
                    return new ElseMarker(t.Pos);
                }
            case TokenKind.End:
                Expect(TokenKind.RightDelim, "end");
                return new EndMarker(t.Pos);
            case TokenKind.If: return Control(t, "if");
            case TokenKind.Range: return Control(t, "range");
            case TokenKind.With: return Control(t, "with");
            case TokenKind.Template: return TemplateControl();
        }
        Backup();
        var first = Peek();
        return new ActionNode(first.Pos, Pipeline("command", TokenKind.RightDelim));
    }

    private Node BreakControl(Token t, bool isBreak)
    {
        var word = isBreak ? "break" : "continue";
        if (_rangeDepth == 0) throw Error($"{{{{{word}}}}} outside {{{{range}}}}");
        Expect(TokenKind.RightDelim, word);
        return isBreak ? new BreakNode(t.Pos) : new ContinueNode(t.Pos);
    }

    private Node Control(Token keyword, string context)
    {
        var savedVars = _vars.Count;
        try
        {
            var pipe = Pipeline(context, TokenKind.RightDelim);
            if (context == "range") _rangeDepth++;
            var (list, next) = ItemList();
            if (context == "range") _rangeDepth--;
            ListNode? elseList = null;
            if (next is ElseMarker)
            {
                var peek = Peek();
                if ((context == "if" && peek.Kind == TokenKind.If) || (context == "with" && peek.Kind == TokenKind.With))
                {
                    var kw = Next();
                    elseList = new ListNode(next.Pos);
                    elseList.Nodes.Add(Control(kw, context));
                }
                else
                {
                    (elseList, next) = ItemList();
                    if (next is not EndMarker) throw Error($"expected end; found {next}");
                }
            }
            return context switch
            {
                "if" => new IfNode(pipe.Pos, pipe, list, elseList),
                "range" => new RangeNode(pipe.Pos, pipe, list, elseList),
                _ => new WithNode(pipe.Pos, pipe, list, elseList),
            };
        }
        finally
        {
            _ = keyword;
            _vars.RemoveRange(savedVars, _vars.Count - savedVars);
        }
    }

    private Node TemplateControl()
    {
        const string context = "template clause";
        var t = NextNonSpace();
        if (t.Kind is not (TokenKind.String or TokenKind.RawString)) throw Unexpected(t, context);
        var name = Unquote(t);
        PipeNode? pipe = null;
        if (NextNonSpace().Kind != TokenKind.RightDelim)
        {
            Backup();
            pipe = Pipeline(context, TokenKind.RightDelim);
        }
        return new TemplateNode(t.Pos, name, pipe);
    }

    private Node BlockControl()
    {
        const string context = "block clause";
        var t = NextNonSpace();
        if (t.Kind is not (TokenKind.String or TokenKind.RawString)) throw Unexpected(t, context);
        var name = Unquote(t);
        var pipe = Pipeline(context, TokenKind.RightDelim);
        var saved = _vars;
        var savedDepth = _rangeDepth;
        _vars = ["$"];
        _rangeDepth = 0;
        var (list, end) = ItemList();
        _vars = saved;
        _rangeDepth = savedDepth;
        if (end is not EndMarker) throw Error($"unexpected {end} in {context}");
        AddDefinition(name, list);
        return new TemplateNode(t.Pos, name, pipe);
    }

    private PipeNode Pipeline(string context, TokenKind end)
    {
        var start = PeekNonSpace();
        var decl = new List<VariableNode>();
        var isAssign = false;
        while (true)
        {
            var v = PeekNonSpace();
            if (v.Kind != TokenKind.Variable) break;
            var vIndex = _i;
            NextNonSpace();
            var afterVar = Peek();
            var next = PeekNonSpace();
            if (next.Kind is TokenKind.Assign or TokenKind.Declare)
            {
                isAssign = next.Kind == TokenKind.Assign;
                NextNonSpace();
                decl.Add(new VariableNode(v.Pos, [v.Value]));
                _vars.Add(v.Value);
                break;
            }
            if (next.Kind == TokenKind.Comma)
            {
                NextNonSpace();
                decl.Add(new VariableNode(v.Pos, [v.Value]));
                _vars.Add(v.Value);
                if (context == "range" && decl.Count < 2)
                {
                    var p = PeekNonSpace();
                    if (p.Kind is TokenKind.Variable or TokenKind.RightDelim or TokenKind.RightParen) continue;
                    throw Error("range can only initialize variables");
                }
                throw Error($"too many declarations in {context}");
            }
            _ = afterVar;
            _i = vIndex;
            break;
        }
        var pipe = new PipeNode(start.Pos, isAssign, decl);
        while (true)
        {
            var t = NextNonSpace();
            if (t.Kind == end)
            {
                if (pipe.Cmds.Count == 0) throw Error($"missing value for {context}");
                for (var i = 1; i < pipe.Cmds.Count; i++)
                {
                    if (pipe.Cmds[i].Args[0] is BoolNode or DotNode or NilNode or NumberNode or StringNode)
                        throw Error($"non executable command in pipeline stage {i + 1}");
                }
                return pipe;
            }
            switch (t.Kind)
            {
                case TokenKind.Bool or TokenKind.Char or TokenKind.Dot or TokenKind.Field or TokenKind.Identifier or
                    TokenKind.Number or TokenKind.Nil or TokenKind.RawString or TokenKind.String or TokenKind.Variable or
                    TokenKind.LeftParen:
                    Backup();
                    pipe.Cmds.Add(Command());
                    break;
                default:
                    throw Unexpected(t, context);
            }
        }
    }

    private CommandNode Command()
    {
        var cmd = new CommandNode(PeekNonSpace().Pos);
        while (true)
        {
            PeekNonSpace();
            var operand = Operand();
            if (operand is not null) cmd.Args.Add(operand);
            var t = Next();
            if (t.Kind == TokenKind.Space) continue;
            if (t.Kind is TokenKind.RightDelim or TokenKind.RightParen) Backup();
            else if (t.Kind != TokenKind.Pipe) throw Unexpected(t, "operand");
            break;
        }
        if (cmd.Args.Count == 0) throw Error("empty command");
        return cmd;
    }

    private Node? Operand()
    {
        var node = Term();
        if (node is null) return null;
        if (Peek().Kind == TokenKind.Field)
        {
            var chain = new ChainNode(Peek().Pos, node);
            while (Peek().Kind == TokenKind.Field) chain.Field.Add(Next().Value[1..]);
            switch (node)
            {
                case FieldNode f:
                    return new FieldNode(f.Pos, [.. f.Ident, .. chain.Field]);
                case VariableNode v:
                    return new VariableNode(v.Pos, [.. v.Ident, .. chain.Field]);
                case BoolNode or StringNode or NumberNode or NilNode or DotNode:
                    throw Error($"unexpected . after term {Go.Quote(node.ToString())}");
                default:
                    return chain;
            }
        }
        return node;
    }

    private Node? Term()
    {
        var t = NextNonSpace();
        switch (t.Kind)
        {
            case TokenKind.Identifier:
                if (!_funcs.TryGet(t.Value, out var fn)) throw Error($"function {Go.Quote(t.Value)} not defined");
                return new IdentifierNode(t.Pos, t.Value) { Function = fn };
            case TokenKind.Dot: return new DotNode(t.Pos);
            case TokenKind.Nil: return new NilNode(t.Pos);
            case TokenKind.Variable:
                if (!_vars.Contains(t.Value)) throw Error($"undefined variable {Go.Quote(t.Value)}");
                return new VariableNode(t.Pos, [t.Value]);
            case TokenKind.Field: return new FieldNode(t.Pos, [t.Value[1..]]);
            case TokenKind.Bool: return new BoolNode(t.Pos, t.Value == "true");
            case TokenKind.Char or TokenKind.Number: return NewNumber(t);
            case TokenKind.LeftParen: return Pipeline("parenthesized pipeline", TokenKind.RightParen);
            case TokenKind.String or TokenKind.RawString: return new StringNode(t.Pos, t.Value, Unquote(t));
        }
        Backup();
        return null;
    }

    private string Unquote(Token t)
    {
        if (t.Kind == TokenKind.RawString) return t.Value[1..^1].Replace("\r", "", StringComparison.Ordinal);
        if (!Go.TryUnquote(t.Value, out var s)) throw Error("invalid syntax");
        return s;
    }

    private NumberNode NewNumber(Token t)
    {
        var n = new NumberNode(t.Pos, t.Value);
        if (t.Kind == TokenKind.Char)
        {
            if (!Go.TryUnquoteChar(t.Value, out var rune)) throw Error($"malformed character constant: {t.Value}");
            n.IsChar = n.IsInt = n.IsFloat = true;
            n.Int = rune;
            n.Float = rune;
            n.Ideal = (long)rune;
            return n;
        }
        var text = t.Value;
        if (Go.TryParseInt(text, out var iv))
        {
            n.IsInt = n.IsFloat = true;
            n.Int = iv;
            n.Float = iv;
        }
        else if (Go.TryParseFloat(text, out var fv))
        {
            if (text.IndexOfAny(['.', 'e', 'E', 'p', 'P']) < 0 || text.StartsWith("0x", StringComparison.OrdinalIgnoreCase) && text.IndexOfAny(['.', 'p', 'P']) < 0)
                throw Error($"integer overflow: {Go.Quote(text)}");
            n.IsFloat = true;
            n.Float = fv;
            if (Math.Abs(fv) < 9.2e18 && Math.Floor(fv) == fv)
            {
                n.IsInt = true;
                n.Int = (long)fv;
            }
        }
        else throw Error($"illegal number syntax: {Go.Quote(text)}");
        var isFloatText = n.IsFloat && !text.StartsWith("0x", StringComparison.OrdinalIgnoreCase) &&
                          text.IndexOfAny(['.', 'e', 'E', 'p', 'P']) >= 0;
        n.Ideal = isFloatText ? n.Float : n.IsInt ? n.Int : null;
        _ = CultureInfo.InvariantCulture;
        return n;
    }
}
