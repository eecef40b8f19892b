using System.Collections;

namespace Watchkeeper.Metrics.Templates;

// Field lookup, function calls and argument conversion: the half of the executor that mirrors Go's evalField,
// evalCall, evalArg and validateType.
internal sealed partial class Executor
{
    private static string KindName(ParamKind k) => k switch
    {
        ParamKind.String => "string",
        ParamKind.Float => "float64",
        ParamKind.Int => "int",
        ParamKind.Bool => "bool",
        ParamKind.StringSlice => "[]string",
        _ => "interface {}",
    };

    private object? EvalField(object? dot, string name, Node node, List<Node>? args, object? final, object? receiver, ref bool nilInterface)
    {
        _ = dot;
        if (receiver is null)
        {
            if (nilInterface) throw Fail($"nil pointer evaluating interface {{}}.{name}");
            if (_set.Options.MissingKey == MissingKeyMode.Error) throw Fail($"nil data; no entry for key {Go.Quote(name)}");
            return null;
        }
        var hasArgs = (args is not null && args.Count > 1) || final != Missing;
        var method = receiver is ITemplateObject o ? o.GetMethod(name) : BuiltinMethods.Get(receiver, name);
        if (method is not null)
        {
            nilInterface = false;
            return EvalCall(dot, method, node, name, args, final);
        }
        switch (receiver)
        {
            case IReadOnlyDictionary<string, string> sm:
                if (hasArgs) throw Fail($"{name} is not a method but has arguments");
                nilInterface = false;
                if (sm.TryGetValue(name, out var sv)) return sv;
                return _set.Options.MissingKey switch
                {
                    MissingKeyMode.Zero => "",
                    MissingKeyMode.Error => throw Fail($"map has no entry for key {Go.Quote(name)}"),
                    _ => null,
                };
            case IReadOnlyDictionary<string, object?> om:
                if (hasArgs) throw Fail($"{name} is not a method but has arguments");
                if (om.TryGetValue(name, out var ov)) { nilInterface = ov is null; return ov; }
                return MissingInterface(name, ref nilInterface);
            case IDictionary d:
                if (hasArgs) throw Fail($"{name} is not a method but has arguments");
                if (d.Contains(name)) { var dv = d[name]; nilInterface = dv is null; return dv; }
                return MissingInterface(name, ref nilInterface);
            case ITemplateObject obj:
                if (obj.TryGetField(name, out var fv))
                {
                    if (hasArgs) throw Fail($"{name} has arguments but cannot be invoked as function");
                    nilInterface = false;
                    return fv;
                }
                break;
        }
        throw Fail($"can't evaluate field {name} in type {GoFmt.TypeName(receiver)}");
    }

    private object? MissingInterface(string name, ref bool nilInterface)
    {
        switch (_set.Options.MissingKey)
        {
            case MissingKeyMode.Zero: nilInterface = true; return null;
            case MissingKeyMode.Error: throw Fail($"map has no entry for key {Go.Quote(name)}");
            default: nilInterface = false; return null;
        }
    }

    private object? EvalFunction(object? dot, IdentifierNode node, Node cmd, List<Node>? args, object? final)
    {
        _node = node;
        var fn = node.Function ?? throw Fail($"{Go.Quote(node.Ident)} is not a defined function");
        return EvalCall(dot, fn, cmd, node.Ident, args, final);
    }

    private object? EvalCall(object? dot, TemplateFunction fn, Node node, string name, List<Node>? argNodes, object? final)
    {
        var argCount = argNodes is null ? 0 : argNodes.Count - 1;
        var numIn = argCount + (final != Missing ? 1 : 0);
        var fixedCount = fn.Parameters.Length;
        if (fn.Variadic is not null)
        {
            if (numIn < fixedCount) throw Fail($"wrong number of args for {name}: want at least {fixedCount} got {argCount}");
        }
        else if (numIn != fixedCount) throw Fail($"wrong number of args for {name}: want {fixedCount} got {numIn}");

        if (fn.IsAndOr)
        {
            var isOr = name == "or";
            object? v = null;
            for (var i = 1; i <= argCount; i++)
            {
                v = EvalArg(dot, ParamKind.Any, argNodes![i]);
                if (IsTrue(v) == isOr) return v;
            }
            if (final != Missing) v = final;
            return v;
        }

        var argv = numIn == 0 ? [] : new object?[numIn];
        var k = 0;
        for (; k < argCount; k++)
            argv[k] = EvalArg(dot, k < fixedCount ? fn.Parameters[k] : fn.Variadic!.Value, argNodes![k + 1]);
        if (final != Missing)
            argv[k] = ValidateType(final, k < fixedCount ? fn.Parameters[k] : fn.Variadic!.Value);
        try
        {
            return fn.Body(Context, argv);
        }
        catch (TemplateFunctionException e)
        {
            _node = node;
            throw Fail($"error calling {name}: {e.Message}");
        }
        catch (TemplateException)
        {
            throw;
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidCastException or OverflowException or
                                       IndexOutOfRangeException or NullReferenceException or InvalidOperationException or
                                       System.Text.RegularExpressions.RegexParseException or System.Text.RegularExpressions.RegexMatchTimeoutException)
        {
            _node = node;
            throw Fail($"error calling {name}: {e.Message}");
        }
    }

    private object? EvalArg(object? dot, ParamKind kind, Node n)
    {
        _node = n;
        switch (n)
        {
            case DotNode: return ValidateType(dot, kind);
            case NilNode:
                if (kind is ParamKind.Any or ParamKind.StringSlice) return null;
                throw Fail($"cannot assign nil to {KindName(kind)}");
            case FieldNode f: return ValidateType(EvalFieldNode(dot, f, [n], Missing), kind);
            case VariableNode v: return ValidateType(EvalVariableNode(dot, v, null, Missing), kind);
            case PipeNode p: return ValidateType(EvalPipeline(dot, p), kind);
            case IdentifierNode id: return ValidateType(EvalFunction(dot, id, id, null, Missing), kind);
            case ChainNode c: return ValidateType(EvalChainNode(dot, c, null, Missing), kind);
        }
        _node = n;
        switch (kind)
        {
            case ParamKind.Bool:
                if (n is BoolNode b) return b.True;
                throw Fail($"expected bool; found {n}");
            case ParamKind.Float:
                if (n is NumberNode { IsFloat: true } fnode) return fnode.Float;
                throw Fail($"expected float; found {n}");
            case ParamKind.Int:
                if (n is NumberNode { IsInt: true } inode) return inode.Int;
                throw Fail($"expected integer; found {n}");
            case ParamKind.String:
                if (n is StringNode s) return s.Text;
                throw Fail($"expected string; found {n}");
            case ParamKind.Any:
                return n switch
                {
                    BoolNode bn => bn.True,
                    NumberNode num => IdealConstant(num),
                    StringNode sn => sn.Text,
                    _ => throw Fail($"can't handle {n} for arg of type interface {{}}"),
                };
        }
        throw Fail($"can't handle {n} for arg of type {KindName(kind)}");
    }

    private object? ValidateType(object? value, ParamKind kind)
    {
        if (value is null)
        {
            if (kind is ParamKind.Any or ParamKind.StringSlice) return null;
            throw Fail($"invalid value; expected {KindName(kind)}");
        }
        switch (kind)
        {
            case ParamKind.Any: return value;
            case ParamKind.String when value is string: return value;
            case ParamKind.Float when value is double: return value;
            case ParamKind.Float when value is float f: return (double)f;
            case ParamKind.Int when value is long: return value;
            case ParamKind.Int when value is int i: return (long)i;
            case ParamKind.Bool when value is bool: return value;
            case ParamKind.StringSlice when value is IReadOnlyList<string>: return value;
        }
        throw Fail($"wrong type for value; expected {KindName(kind)}; got {GoFmt.TypeName(value)}");
    }
}
