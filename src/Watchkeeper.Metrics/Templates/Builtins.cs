using System.Collections;
using System.Text;

namespace Watchkeeper.Metrics.Templates;

/// <summary>
/// The functions a template may call: Go's builtins plus a caller's set (Prometheus's, Alertmanager's). Immutable once
/// built, so one set is shared by every parse and execution.
/// </summary>
public sealed class FunctionSet
{
    private readonly Dictionary<string, TemplateFunction> _funcs;

    private FunctionSet(Dictionary<string, TemplateFunction> funcs) => _funcs = funcs;

    /// <summary>Go's builtins only.</summary>
    public static FunctionSet Builtins { get; } = new(Templates.Builtins.Create());

    /// <summary>A new set: the builtins, then <paramref name="functions"/> (a later function replaces an earlier one of the same name).</summary>
    public FunctionSet With(IEnumerable<TemplateFunction> functions)
    {
        var d = new Dictionary<string, TemplateFunction>(_funcs, StringComparer.Ordinal);
        foreach (var f in functions) d[f.Name] = f;
        return new FunctionSet(d);
    }

    public bool TryGet(string name, out TemplateFunction fn) => _funcs.TryGetValue(name, out fn!);

    public IEnumerable<string> Names => _funcs.Keys;
}

internal static class Builtins
{
    private static readonly ParamKind[] One = [ParamKind.Any];
    private static readonly ParamKind[] Two = [ParamKind.Any, ParamKind.Any];

    public static Dictionary<string, TemplateFunction> Create()
    {
        var list = new List<TemplateFunction>
        {
            new("and", (_, a) => null, One, ParamKind.Any) { IsAndOr = true },
            new("or", (_, a) => null, One, ParamKind.Any) { IsAndOr = true },
            new("not", (_, a) => !Executor.IsTrue(a[0]), One),
            new("len", (_, a) => Len(a[0]), One),
            new("index", (_, a) => Index(a[0], a[1..]), One, ParamKind.Any),
            new("slice", (_, a) => Slice(a[0], a[1..]), One, ParamKind.Any),
            new("print", (_, a) => GoFmt.Sprint(a), [], ParamKind.Any),
            new("printf", (_, a) => GoFmt.Sprintf((string)a[0]!, a[1..]), [ParamKind.String], ParamKind.Any),
            new("println", (_, a) => GoFmt.Sprintln(a), [], ParamKind.Any),
            new("html", (_, a) => HtmlEscape(EvalArgs(a)), [], ParamKind.Any),
            new("js", (_, a) => JsEscape(EvalArgs(a)), [], ParamKind.Any),
            new("urlquery", (_, a) => CommonFunctions.QueryEscape(EvalArgs(a)), [], ParamKind.Any),
            new("eq", (_, a) => Eq(a[0], a[1..]), One, ParamKind.Any),
            new("ne", (_, a) => !Eq(a[0], a[1..2]), Two),
            new("lt", (_, a) => Compare(a[0], a[1]) < 0, Two),
            new("le", (_, a) => Compare(a[0], a[1]) <= 0, Two),
            new("gt", (_, a) => Compare(a[0], a[1]) > 0, Two),
            new("ge", (_, a) => Compare(a[0], a[1]) >= 0, Two),
            new("call", Call, One, ParamKind.Any),
        };
        return list.ToDictionary(f => f.Name, StringComparer.Ordinal);
    }

    private static object? Call(TemplateCallContext ctx, ReadOnlySpan<object?> a)
    {
        if (a[0] is not TemplateFunction fn)
            throw new TemplateFunctionException(a[0] is null ? "call of nil" : $"non-function of type {GoFmt.TypeName(a[0])}");
        var n = a.Length - 1;
        if (fn.Variadic is null ? n != fn.Parameters.Length : n < fn.Parameters.Length)
            throw new TemplateFunctionException($"wrong number of args for {fn.Name}: got {n} want {fn.Parameters.Length}");
        return fn.Body(ctx, a[1..]);
    }

    /// <summary>Go's evalArgs: a single string as is, else fmt.Sprint with nil printed as "&lt;no value&gt;".</summary>
    private static string EvalArgs(ReadOnlySpan<object?> a)
    {
        if (a.Length == 1 && a[0] is string s) return s;
        var copy = a.ToArray();
        for (var i = 0; i < copy.Length; i++) copy[i] ??= "<no value>";
        return GoFmt.Sprint(copy);
    }

    internal static string HtmlEscape(string s)
    {
        if (s.AsSpan().IndexOfAny("<>&'\"\0") < 0) return s;
        var sb = new StringBuilder(s.Length + 16);
        foreach (var c in s)
        {
            sb.Append(c switch
            {
                '<' => "&lt;",
                '>' => "&gt;",
                '&' => "&amp;",
                '\'' => "&#39;",
                '"' => "&#34;",
                '\0' => "\uFFFD",
                _ => c.ToString(),
            });
        }
        return sb.ToString();
    }

    private static string JsEscape(string s)
    {
        var sb = new StringBuilder(s.Length + 16);
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            switch (c)
            {
                case '\\': sb.Append("\\\\"); break;
                case '\'': sb.Append("\\'"); break;
                case '"': sb.Append("\\\""); break;
                case '<': sb.Append("\\u003C"); break;
                case '>': sb.Append("\\u003E"); break;
                case '&': sb.Append("\\u0026"); break;
                case '=': sb.Append("\\u003D"); break;
                default:
                    if (c < ' ' || (c >= 0x7f && !Go.IsPrint(c) && !char.IsSurrogate(c))) sb.Append("\\u").Append(((int)c).ToString("X4", System.Globalization.CultureInfo.InvariantCulture));
                    else sb.Append(c);
                    break;
            }
        }
        return sb.ToString();
    }

    private static long Len(object? v) => v switch
    {
        null => throw new TemplateFunctionException("len of nil pointer"),
        string s => Encoding.UTF8.GetByteCount(s),
        SafeHtml h => Encoding.UTF8.GetByteCount(h.Value),
        ICollection c => c.Count,
        IReadOnlyCollection<KeyValuePair<string, string>> m => m.Count,
        IReadOnlyCollection<KeyValuePair<string, object?>> om => om.Count,
        _ => throw new TemplateFunctionException($"len of type {GoFmt.TypeName(v)}"),
    };

    private static int IndexArg(object? index, int cap)
    {
        long x = index switch
        {
            long l => l,
            int i => i,
            null => throw new TemplateFunctionException("cannot index slice/array with nil"),
            _ => throw new TemplateFunctionException($"cannot index slice/array with type {GoFmt.TypeName(index)}"),
        };
        if (x < 0 || x >= cap) throw new TemplateFunctionException($"index out of range: {x}");
        return (int)x;
    }

    private static object? Index(object? item, ReadOnlySpan<object?> indexes)
    {
        if (item is null) throw new TemplateFunctionException("index of untyped nil");
        foreach (var index in indexes)
        {
            switch (item)
            {
                case null: throw new TemplateFunctionException("index of nil pointer");
                case string s:
                    {
                        var bytes = Encoding.UTF8.GetBytes(s);
                        item = (long)bytes[IndexArg(index, bytes.Length)];
                        break;
                    }
                case IReadOnlyDictionary<string, string> m:
                    item = m.TryGetValue(KeyArg(index), out var sv) ? sv : "";
                    break;
                case IReadOnlyDictionary<string, object?> om:
                    item = om.TryGetValue(KeyArg(index), out var ov) ? ov : null;
                    break;
                case IDictionary d:
                    {
                        var k = KeyArg(index);
                        item = d.Contains(k) ? d[k] : null;
                        break;
                    }
                case IList list:
                    item = list[IndexArg(index, list.Count)];
                    break;
                default:
                    throw new TemplateFunctionException($"can't index item of type {GoFmt.TypeName(item)}");
            }
        }
        return item;
    }

    private static string KeyArg(object? index) => index switch
    {
        string s => s,
        SafeHtml h => throw new TemplateFunctionException($"value has type template.HTML; should be string{(h.Value.Length < 0 ? "" : "")}"),
        null => throw new TemplateFunctionException("value is nil; should be of type string"),
        _ => throw new TemplateFunctionException($"value has type {GoFmt.TypeName(index)}; should be string"),
    };

    private static object? Slice(object? item, ReadOnlySpan<object?> indexes)
    {
        if (item is null) throw new TemplateFunctionException("slice of untyped nil");
        if (indexes.Length > 3) throw new TemplateFunctionException($"too many slice indexes: {indexes.Length}");
        int len;
        switch (item)
        {
            case string s:
                if (indexes.Length == 3) throw new TemplateFunctionException("cannot 3-index slice a string");
                len = Encoding.UTF8.GetByteCount(s);
                break;
            case IList l: len = l.Count; break;
            default: throw new TemplateFunctionException($"can't slice item of type {GoFmt.TypeName(item)}");
        }
        var idx = new[] { 0, len };
        for (var i = 0; i < indexes.Length && i < 2; i++)
        {
            var x = indexes[i] switch
            {
                long v => v,
                int v => v,
                _ => throw new TemplateFunctionException($"cannot index slice/array with type {GoFmt.TypeName(indexes[i])}"),
            };
            if (x < 0 || x > len) throw new TemplateFunctionException($"index out of range: {x}");
            idx[i] = (int)x;
        }
        if (idx[0] > idx[1]) throw new TemplateFunctionException($"invalid slice index: {idx[0]} > {idx[1]}");
        if (item is string str)
        {
            var bytes = Encoding.UTF8.GetBytes(str);
            return Encoding.UTF8.GetString(bytes, idx[0], idx[1] - idx[0]);
        }
        var list = (IList)item;
        var result = new List<object?>(idx[1] - idx[0]);
        for (var i = idx[0]; i < idx[1]; i++) result.Add(list[i]);
        if (item is IReadOnlyList<string>) return result.Cast<string>().ToList();
        return result;
    }

    private enum Kind { Invalid, Bool, Int, Float, String, Other }

    private static Kind BasicKind(object? v) => v switch
    {
        null => Kind.Invalid,
        bool => Kind.Bool,
        long or int or TimeSpan => Kind.Int,
        double or float => Kind.Float,
        string or SafeHtml => Kind.String,
        _ => Kind.Other,
    };

    private static bool Eq(object? a, ReadOnlySpan<object?> others)
    {
        if (others.Length == 0) throw new TemplateFunctionException("missing argument for comparison");
        var k1 = BasicKind(a);
        foreach (var b in others)
        {
            var k2 = BasicKind(b);
            bool truth;
            if (k1 != k2)
            {
                if (a is not null && b is not null) throw new TemplateFunctionException("incompatible types for comparison");
                truth = false;
            }
            else
            {
                truth = k1 switch
                {
                    Kind.Bool => (bool)a! == (bool)b!,
                    Kind.Int => ToLong(a) == ToLong(b),
                    Kind.Float => Convert.ToDouble(a, System.Globalization.CultureInfo.InvariantCulture) == Convert.ToDouble(b, System.Globalization.CultureInfo.InvariantCulture),
                    Kind.String => a!.ToString() == b!.ToString(),
                    Kind.Invalid => true,
                    _ => a is IEnumerable and not string
                        ? throw new TemplateFunctionException($"non-comparable type {GoFmt.TypeName(a)}")
                        : Equals(a, b),
                };
            }
            if (truth) return true;
        }
        return false;
    }

    private static long ToLong(object? v) => v switch
    {
        long l => l,
        int i => i,
        TimeSpan ts => ts.Ticks * 100,
        _ => 0,
    };

    private static int Compare(object? a, object? b)
    {
        var k1 = BasicKind(a);
        var k2 = BasicKind(b);
        if (k1 is Kind.Invalid or Kind.Bool or Kind.Other) throw new TemplateFunctionException("invalid type for comparison");
        if (k1 != k2)
        {
            if (k2 is Kind.Invalid or Kind.Bool or Kind.Other) throw new TemplateFunctionException("invalid type for comparison");
            throw new TemplateFunctionException("incompatible types for comparison");
        }
        return k1 switch
        {
            Kind.Int => ToLong(a).CompareTo(ToLong(b)),
            Kind.Float => Convert.ToDouble(a, System.Globalization.CultureInfo.InvariantCulture).CompareTo(Convert.ToDouble(b, System.Globalization.CultureInfo.InvariantCulture)),
            _ => string.CompareOrdinal(a!.ToString(), b!.ToString()),
        };
    }
}
