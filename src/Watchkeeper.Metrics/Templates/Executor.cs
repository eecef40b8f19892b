using System.Collections;
using System.Globalization;
using System.Text;

namespace Watchkeeper.Metrics.Templates;

/// <summary>
/// Runs a parsed template over data, as Go's text/template exec does: pipelines, variables with block scope, field
/// chains over the data model, control structures, template calls, and errors that name the template, the line and
/// column and the node (<c>template: t:1:3: executing "t" at &lt;.Foo&gt;: ...</c>). Bounded in output size, steps
/// and template-call depth.
/// </summary>
internal sealed partial class Executor
{
    private static readonly object Missing = new();
    private enum Flow { Normal, Break, Continue }

    private readonly TemplateSet _set;
    private readonly StringBuilder _out;
    private readonly TemplateLimits _limits;
    private readonly CancellationToken _ct;
    private readonly bool _missingZero;
    private readonly List<(string Name, object? Value)> _vars = new(8);
    private TemplateDefinition _tmpl;
    private Node? _node;
    private int _depth;
    private long _steps;
    private TemplateCallContext? _ctx;
    private readonly object? _environment;

    public Executor(TemplateSet set, TemplateDefinition tmpl, StringBuilder output, TemplateLimits limits, object? environment, CancellationToken ct)
    {
        _set = set;
        _tmpl = tmpl;
        _out = output;
        _limits = limits;
        _environment = environment;
        _ct = ct;
        _missingZero = set.Options.MissingKey == MissingKeyMode.Zero;
    }

    private TemplateCallContext Context => _ctx ??= new TemplateCallContext(_environment, (name, data) =>
    {
        var def = _set.Lookup(name) ?? throw new TemplateFunctionException($"template {Go.Quote(name)} not defined");
        var sb = new StringBuilder();
        var sub = new Executor(_set, def, sb, _limits, _environment, _ct) { _depth = _depth + 1, _steps = _steps };
        sub.Run(data);
        _steps = sub._steps;
        return sb.ToString();
    });

    public void Run(object? data)
    {
        if (_depth >= _limits.MaxDepth) throw Fail($"exceeded maximum template depth ({_limits.MaxDepth})");
        _vars.Add(("$", data));
        Walk(data, _tmpl.Root);
    }

    private TemplateException Fail(string message)
    {
        if (_node is null) return new TemplateException($"template: {_tmpl.Name}: {message}");
        var text = _tmpl.Source.Text;
        var pos = Math.Min(_node.Pos, text.Length);
        var lineStart = text.LastIndexOf('\n', Math.Max(pos - 1, 0)) + 1;
        if (pos == 0) lineStart = 0;
        var line = 1;
        for (var i = 0; i < lineStart; i++) if (text[i] == '\n') line++;
        var col = Encoding.UTF8.GetByteCount(text.AsSpan(lineStart, pos - lineStart));
        var context = _node.ToString();
        var si = new StringInfo(context);
        if (si.LengthInTextElements > 20) context = si.SubstringByTextElements(0, 20) + "...";
        return new TemplateException(
            $"template: {_tmpl.Source.ParseName}:{line}:{col}: executing {Go.Quote(_tmpl.Name)} at <{context}>: {message}");
    }

    private void Step()
    {
        if (++_steps > _limits.MaxSteps) throw Fail($"exceeded maximum execution steps ({_limits.MaxSteps})");
        if ((_steps & 1023) == 0) _ct.ThrowIfCancellationRequested();
    }

    private void Write(string s)
    {
        if (_out.Length + s.Length > _limits.MaxOutputChars)
            throw Fail($"output exceeds the limit of {_limits.MaxOutputChars} characters");
        _out.Append(s);
    }

    private Flow Walk(object? dot, Node node)
    {
        Step();
        _node = node;
        switch (node)
        {
            case ListNode list:
                foreach (var n in list.Nodes)
                {
                    var f = Walk(dot, n);
                    if (f != Flow.Normal) return f;
                }
                return Flow.Normal;
            case TextNode text:
                Write(text.Text);
                return Flow.Normal;
            case ActionNode action:
                {
                    var val = EvalPipeline(dot, action.Pipe);
                    if (action.Pipe.Decl.Count == 0) PrintValue(action, val);
                    return Flow.Normal;
                }
            case IfNode or WithNode:
                {
                    var b = (BranchNode)node;
                    var mark = _vars.Count;
                    try
                    {
                        var val = EvalPipeline(dot, b.Pipe);
                        if (IsTrue(val)) return Walk(node is WithNode ? val : dot, b.List);
                        if (b.ElseList is not null) return Walk(dot, b.ElseList);
                        return Flow.Normal;
                    }
                    finally { Pop(mark); }
                }
            case RangeNode r: return WalkRange(dot, r);
            case BreakNode: return Flow.Break;
            case ContinueNode: return Flow.Continue;
            case TemplateNode t:
                {
                    var def = _set.Lookup(t.Name) ?? throw Fail($"template {Go.Quote(t.Name)} not defined");
                    if (_depth + 1 >= _limits.MaxDepth) throw Fail($"exceeded maximum template depth ({_limits.MaxDepth})");
                    var newDot = t.Pipe is null ? null : EvalPipeline(dot, t.Pipe);
                    var sub = new Executor(_set, def, _out, _limits, _environment, _ct) { _depth = _depth + 1, _steps = _steps, _ctx = _ctx };
                    sub._vars.Add(("$", newDot));
                    sub.Walk(newDot, def.Root);
                    _steps = sub._steps;
                    _node = node;
                    return Flow.Normal;
                }
        }
        throw Fail($"unknown node: {node}");
    }

    private Flow WalkRange(object? dot, RangeNode r)
    {
        _node = r;
        var mark = _vars.Count;
        try
        {
            var val = EvalPipeline(dot, r.Pipe);
            var iterMark = _vars.Count;
            var decl = r.Pipe.Decl;
            var any = false;
            bool One(object? index, object? elem)
            {
                any = true;
                if (decl.Count > 0)
                {
                    if (r.Pipe.IsAssign)
                    {
                        if (decl.Count > 1) { SetVar(decl[0].Ident[0], index); SetVar(decl[1].Ident[0], elem); }
                        else SetVar(decl[0].Ident[0], elem);
                    }
                    else if (decl.Count > 1) { SetTopVar(2, index); SetTopVar(1, elem); }
                    else SetTopVar(1, elem);
                }
                try
                {
                    return Walk(elem, r.List) != Flow.Break;
                }
                finally { Pop(iterMark); }
            }
            switch (val)
            {
                case null: break;
                case string or SafeHtml: throw RangeFail(val);
                case long n:
                    if (decl.Count > 1) throw Fail($"can't use {decl[0].Ident[0]}, {decl[1].Ident[0]} to iterate over more than one variable");
                    for (long i = 0; i < n; i++) if (!One(i, i)) break;
                    break;
                case int n32:
                    for (long i = 0; i < n32; i++) if (!One(i, i)) break;
                    break;
                case IReadOnlyDictionary<string, string> m:
                    foreach (var k in SortedKeys(m.Keys)) if (!One(k, m[k])) break;
                    break;
                case IReadOnlyDictionary<string, object?> om:
                    foreach (var k in SortedKeys(om.Keys)) if (!One(k, om[k])) break;
                    break;
                case IDictionary d:
                    {
                        var keys = new List<string>();
                        foreach (var k in d.Keys) keys.Add(Convert.ToString(k, CultureInfo.InvariantCulture) ?? "");
                        keys.Sort(StringComparer.Ordinal);
                        foreach (var k in keys) if (!One(k, d[k])) break;
                        break;
                    }
                case IList list:
                    for (var i = 0; i < list.Count; i++) if (!One((long)i, list[i])) break;
                    break;
                default: throw RangeFail(val);
            }
            if (!any && r.ElseList is not null) return Walk(dot, r.ElseList);
            return Flow.Normal;
        }
        finally { Pop(mark); }
    }

    private TemplateException RangeFail(object? val)
    {
        var sb = new StringBuilder();
        GoFmt.AppendValue(sb, val);
        return Fail($"range can't iterate over {sb}");
    }

    private static List<string> SortedKeys(IEnumerable<string> keys)
    {
        var list = new List<string>(keys);
        list.Sort(StringComparer.Ordinal);
        return list;
    }

    private void Pop(int mark)
    {
        if (_vars.Count > mark) _vars.RemoveRange(mark, _vars.Count - mark);
    }

    private void SetVar(string name, object? value)
    {
        for (var i = _vars.Count - 1; i >= 0; i--)
        {
            if (_vars[i].Name == name) { _vars[i] = (name, value); return; }
        }
        throw Fail($"undefined variable: {name}");
    }

    private void SetTopVar(int n, object? value) => _vars[^n] = (_vars[^n].Name, value);

    private object? VarValue(string name)
    {
        for (var i = _vars.Count - 1; i >= 0; i--)
        {
            if (_vars[i].Name == name) return _vars[i].Value;
        }
        throw Fail($"undefined variable: {name}");
    }

    private void PrintValue(Node n, object? val)
    {
        _node = n;
        if (val is null) { Write("<no value>"); return; }
        if (val is string s) { Write(s); return; }
        if (val is TemplateFunction) throw Fail($"can't print {n} of type func");
        var sb = new StringBuilder();
        GoFmt.AppendValue(sb, val);
        Write(sb.ToString());
    }

    internal static bool IsTrue(object? val) => val switch
    {
        null => false,
        bool b => b,
        long l => l != 0,
        int i => i != 0,
        double d => d != 0,
        float f => f != 0,
        string s => s.Length > 0,
        SafeHtml h => h.Value.Length > 0,
        TimeSpan ts => ts != TimeSpan.Zero,
        ICollection c => c.Count > 0,
        IReadOnlyCollection<KeyValuePair<string, string>> m => m.Count > 0,
        IReadOnlyCollection<KeyValuePair<string, object?>> om => om.Count > 0,
        _ => true,
    };

    private object? EvalPipeline(object? dot, PipeNode pipe)
    {
        _node = pipe;
        var value = Missing;
        foreach (var cmd in pipe.Cmds) value = EvalCommand(dot, cmd, value);
        foreach (var v in pipe.Decl)
        {
            if (pipe.IsAssign) SetVar(v.Ident[0], value);
            else _vars.Add((v.Ident[0], value));
        }
        return value;
    }

    private void NotAFunction(List<Node>? args, object? final)
    {
        if ((args is not null && args.Count > 1) || final != Missing)
            throw Fail($"can't give argument to non-function {args?[0]}");
    }

    private object? EvalCommand(object? dot, CommandNode cmd, object? final)
    {
        Step();
        var first = cmd.Args[0];
        switch (first)
        {
            case FieldNode f: return EvalFieldNode(dot, f, cmd.Args, final);
            case ChainNode c: return EvalChainNode(dot, c, cmd.Args, final);
            case IdentifierNode id: return EvalFunction(dot, id, cmd, cmd.Args, final);
            case PipeNode p:
                NotAFunction(cmd.Args, final);
                return EvalPipeline(dot, p);
            case VariableNode v: return EvalVariableNode(dot, v, cmd.Args, final);
        }
        _node = first;
        NotAFunction(cmd.Args, final);
        return first switch
        {
            BoolNode b => b.True,
            DotNode => dot,
            NilNode => throw Fail("nil is not a command"),
            NumberNode n => IdealConstant(n),
            StringNode s => s.Text,
            _ => throw Fail($"can't evaluate command {Go.Quote(first.ToString())}"),
        };
    }

    private object? IdealConstant(NumberNode n)
    {
        _node = n;
        return n.Ideal ?? throw Fail($"{n.Text} overflows int");
    }

    private object? EvalFieldNode(object? dot, FieldNode field, List<Node>? args, object? final)
    {
        _node = field;
        return EvalFieldChain(dot, dot, field, field.Ident, 0, args, final);
    }

    private object? EvalChainNode(object? dot, ChainNode chain, List<Node>? args, object? final)
    {
        _node = chain;
        if (chain.Node is NilNode) throw Fail($"indirection through explicit nil in {chain}");
        var pipe = EvalArg(dot, ParamKind.Any, chain.Node);
        return EvalFieldChain(dot, pipe, chain, [.. chain.Field], 0, args, final);
    }

    private object? EvalVariableNode(object? dot, VariableNode variable, List<Node>? args, object? final)
    {
        _node = variable;
        var value = VarValue(variable.Ident[0]);
        if (variable.Ident.Length == 1)
        {
            NotAFunction(args, final);
            return value;
        }
        return EvalFieldChain(dot, value, variable, variable.Ident, 1, args, final);
    }

    private object? EvalFieldChain(object? dot, object? receiver, Node node, string[] ident, int start, List<Node>? args, object? final)
    {
        var nilInterface = false;
        for (var i = start; i < ident.Length - 1; i++)
            receiver = EvalField(dot, ident[i], node, null, Missing, receiver, ref nilInterface);
        return EvalField(dot, ident[^1], node, args, final, receiver, ref nilInterface);
    }
}
