using System.Collections;
using System.Globalization;
using System.Text;

namespace Watchkeeper.Metrics.Templates;

/// <summary>Go's fmt for template values: Sprint, Sprintln, Sprintf with the verbs templates use, and %T names.</summary>
public static class GoFmt
{
    public static string TypeName(object? v) => v switch
    {
        null => "<nil>",
        string => "string",
        SafeHtml => "template.HTML",
        bool => "bool",
        long or int => "int",
        double or float => "float64",
        DateTimeOffset or ZonedTime => "time.Time",
        TimeSpan => "time.Duration",
        ITemplateObject o => o.GoTypeName,
        IReadOnlyDictionary<string, string> => "map[string]string",
        IReadOnlyDictionary<string, object?> or IDictionary => "map[string]interface {}",
        IReadOnlyList<string> => "[]string",
        IList => "[]interface {}",
        TemplateFunction => "func",
        _ => v.GetType().Name,
    };

    internal static bool IsStringKind(object? v) => v is string or SafeHtml;

    /// <summary>fmt.Sprint: operands printed with %v, a space between two operands when neither is a string.</summary>
    public static string Sprint(ReadOnlySpan<object?> args)
    {
        if (args.Length == 1 && args[0] is string s) return s;
        var sb = new StringBuilder();
        for (var i = 0; i < args.Length; i++)
        {
            if (i > 0 && !IsStringKind(args[i]) && !IsStringKind(args[i - 1])) sb.Append(' ');
            AppendValue(sb, args[i]);
        }
        return sb.ToString();
    }

    /// <summary>fmt.Sprintln: operands separated by spaces, then a newline.</summary>
    public static string Sprintln(ReadOnlySpan<object?> args)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < args.Length; i++)
        {
            if (i > 0) sb.Append(' ');
            AppendValue(sb, args[i]);
        }
        return sb.Append('\n').ToString();
    }

    /// <summary>Appends <paramref name="v"/> as %v prints it.</summary>
    public static void AppendValue(StringBuilder sb, object? v, bool nested = false)
    {
        switch (v)
        {
            case null: sb.Append("<nil>"); return;
            case string s: sb.Append(s); return;
            case SafeHtml h: sb.Append(h.Value); return;
            case bool b: sb.Append(b ? "true" : "false"); return;
            case long l: sb.Append(l.ToString(CultureInfo.InvariantCulture)); return;
            case int i: sb.Append(i.ToString(CultureInfo.InvariantCulture)); return;
            case double d: GoFloat.Append(sb, d, 'g', -1); return;
            case float f: GoFloat.Append(sb, f, 'g', -1); return;
            case DateTimeOffset t: sb.Append(GoTime.ToGoString(t, null)); return;
            case ZonedTime z: sb.Append(GoTime.ToGoString(z.Time, z.ZoneName)); return;
            case TimeSpan ts: sb.Append(GoTime.DurationString(ts)); return;
            case IReadOnlyDictionary<string, string> m:
                sb.Append("map[");
                var first = true;
                foreach (var k in m.Keys.Order(StringComparer.Ordinal))
                {
                    if (!first) sb.Append(' ');
                    first = false;
                    sb.Append(k).Append(':').Append(m[k]);
                }
                sb.Append(']');
                return;
            case IReadOnlyDictionary<string, object?> om:
                sb.Append("map[");
                var f1 = true;
                foreach (var k in om.Keys.Order(StringComparer.Ordinal))
                {
                    if (!f1) sb.Append(' ');
                    f1 = false;
                    sb.Append(k).Append(':');
                    AppendValue(sb, om[k], true);
                }
                sb.Append(']');
                return;
            case ITemplateObject o: sb.Append(o.ToString()); return;
            case IList list:
                sb.Append('[');
                for (var i = 0; i < list.Count; i++)
                {
                    if (i > 0) sb.Append(' ');
                    AppendValue(sb, list[i], true);
                }
                sb.Append(']');
                return;
            default:
                _ = nested;
                sb.Append(Convert.ToString(v, CultureInfo.InvariantCulture));
                return;
        }
    }

    private struct Spec
    {
        public bool Plus, Minus, Sharp, Space, Zero;
        public int Width, Prec;
        public bool HasWidth, HasPrec;
    }

    /// <summary>fmt.Sprintf with Go's verbs, flags, width and precision, and its %!verb(type=value) error forms.</summary>
    public static string Sprintf(string format, ReadOnlySpan<object?> args)
    {
        var sb = new StringBuilder(format.Length + 16);
        var argNum = 0;
        var i = 0;
        while (i < format.Length)
        {
            var pct = format.IndexOf('%', i);
            if (pct < 0) { sb.Append(format, i, format.Length - i); break; }
            sb.Append(format, i, pct - i);
            i = pct + 1;
            var spec = new Spec();
            for (; i < format.Length; i++)
            {
                var c = format[i];
                if (c == '+') spec.Plus = true;
                else if (c == '-') { spec.Minus = true; spec.Zero = false; }
                else if (c == '#') spec.Sharp = true;
                else if (c == ' ') spec.Space = true;
                else if (c == '0') spec.Zero = !spec.Minus;
                else break;
            }
            if (i < format.Length && format[i] == '*')
            {
                i++;
                if (argNum < args.Length && args[argNum] is long or int)
                {
                    spec.Width = Convert.ToInt32(args[argNum], CultureInfo.InvariantCulture);
                    spec.HasWidth = true;
                    if (spec.Width < 0) { spec.Minus = true; spec.Width = -spec.Width; spec.Zero = false; }
                }
                else sb.Append("%!(BADWIDTH)");
                argNum++;
            }
            else
            {
                var ws = i;
                while (i < format.Length && char.IsAsciiDigit(format[i])) i++;
                if (i > ws) { spec.Width = int.Parse(format.AsSpan(ws, i - ws), CultureInfo.InvariantCulture); spec.HasWidth = true; }
            }
            if (i < format.Length && format[i] == '.')
            {
                i++;
                spec.HasPrec = true;
                if (i < format.Length && format[i] == '*')
                {
                    i++;
                    if (argNum < args.Length && args[argNum] is long or int)
                    {
                        spec.Prec = Convert.ToInt32(args[argNum], CultureInfo.InvariantCulture);
                        if (spec.Prec < 0) { spec.Prec = 0; spec.HasPrec = false; }
                    }
                    else sb.Append("%!(BADPREC)");
                    argNum++;
                }
                else
                {
                    var ps = i;
                    while (i < format.Length && char.IsAsciiDigit(format[i])) i++;
                    spec.Prec = i > ps ? int.Parse(format.AsSpan(ps, i - ps), CultureInfo.InvariantCulture) : 0;
                }
            }
            if (i >= format.Length) { sb.Append("%!(NOVERB)"); break; }
            var verb = format[i];
            if (char.IsHighSurrogate(verb) && i + 1 < format.Length) { sb.Append("%!").Append(verb).Append(format[i + 1]).Append("(BADVERB)"); i += 2; continue; }
            i++;
            if (verb == '%') { sb.Append('%'); continue; }
            if (argNum >= args.Length) { sb.Append("%!").Append(verb).Append("(MISSING)"); continue; }
            FormatOne(sb, verb, spec, args[argNum++]);
        }
        if (argNum < args.Length)
        {
            sb.Append("%!(EXTRA ");
            for (var k = argNum; k < args.Length; k++)
            {
                if (k > argNum) sb.Append(", ");
                if (args[k] is null) sb.Append("<nil>");
                else
                {
                    sb.Append(TypeName(args[k])).Append('=');
                    AppendValue(sb, args[k]);
                }
            }
            sb.Append(')');
        }
        return sb.ToString();
    }

    private static void BadVerb(StringBuilder sb, char verb, object? arg)
    {
        sb.Append("%!").Append(verb).Append('(');
        if (arg is null) sb.Append("<nil>");
        else
        {
            sb.Append(TypeName(arg)).Append('=');
            AppendValue(sb, arg);
        }
        sb.Append(')');
    }

    private static void Pad(StringBuilder sb, Spec spec, string s, bool numeric)
    {
        var width = spec.HasWidth ? spec.Width : 0;
        var len = new StringInfo(s).LengthInTextElements;
        if (len >= width) { sb.Append(s); return; }
        if (spec.Minus) { sb.Append(s).Append(' ', width - len); return; }
        if (spec.Zero && numeric)
        {
            var signLen = s.Length > 0 && s[0] is '+' or '-' or ' ' ? 1 : 0;
            sb.Append(s, 0, signLen).Append('0', width - len).Append(s, signLen, s.Length - signLen);
            return;
        }
        sb.Append(' ', width - len).Append(s);
    }

    private static void FormatOne(StringBuilder sb, char verb, Spec spec, object? arg)
    {
        if (verb == 'T') { Pad(sb, spec, TypeName(arg), false); return; }
        if (arg is int i32) arg = (long)i32;
        if (arg is float f32) arg = (double)f32;
        switch (verb)
        {
            case 'v':
                if (arg is double dv) { FormatFloat(sb, spec, dv, 'g', -1); return; }
                if (arg is long lv) { FormatInt(sb, spec, lv, 'd'); return; }
                if (arg is string sv && spec.Sharp) { Pad(sb, spec, Go.Quote(sv), false); return; }
                var tmp = new StringBuilder();
                AppendValue(tmp, arg);
                Pad(sb, spec, tmp.ToString(), false);
                return;
            case 's':
                if (arg is string or SafeHtml or DateTimeOffset or ZonedTime or TimeSpan || arg is IList and not null && AllStrings((IList)arg))
                {
                    var s = new StringBuilder();
                    AppendValue(s, arg);
                    var str = s.ToString();
                    if (spec.HasPrec) str = Truncate(str, spec.Prec);
                    Pad(sb, spec, str, false);
                    return;
                }
                break;
            case 'q':
                if (arg is string or SafeHtml)
                {
                    var str = arg.ToString()!;
                    if (spec.HasPrec) str = Truncate(str, spec.Prec);
                    Pad(sb, spec, spec.Sharp && !str.Contains('`', StringComparison.Ordinal) ? "`" + str + "`" : Go.Quote(str), false);
                    return;
                }
                if (arg is long qr) { Pad(sb, spec, Go.QuoteRune((int)qr), false); return; }
                break;
            case 'd' or 'b' or 'o' or 'O' or 'c' or 'U':
                if (arg is long l) { FormatInt(sb, spec, l, verb); return; }
                break;
            case 'x' or 'X':
                if (arg is long lx) { FormatInt(sb, spec, lx, verb); return; }
                if (arg is string or SafeHtml)
                {
                    var bytes = Encoding.UTF8.GetBytes(arg.ToString()!);
                    var hex = Convert.ToHexString(bytes);
                    Pad(sb, spec, verb == 'x' ? hex.ToLowerInvariant() : hex, false);
                    return;
                }
                break;
            case 'e' or 'E' or 'f' or 'F' or 'g' or 'G':
                if (arg is double d) { FormatFloat(sb, spec, d, verb == 'F' ? 'f' : verb, spec.HasPrec ? spec.Prec : verb is 'g' or 'G' ? -1 : 6); return; }
                break;
            case 't':
                if (arg is bool b) { Pad(sb, spec, b ? "true" : "false", false); return; }
                break;
        }
        BadVerb(sb, verb, arg);
    }

    private static bool AllStrings(IList list)
    {
        foreach (var x in list) if (x is not string) return false;
        return true;
    }

    private static string Truncate(string s, int runes)
    {
        var si = new StringInfo(s);
        return si.LengthInTextElements <= runes ? s : si.SubstringByTextElements(0, runes);
    }

    private static void FormatFloat(StringBuilder sb, Spec spec, double v, char verb, int prec)
    {
        var s = GoFloat.Format(v, verb, prec);
        if (spec.Plus && s[0] != '-' && s[0] != '+') s = "+" + s;
        else if (spec.Space && s[0] != '-' && s[0] != '+') s = " " + s;
        else if (!spec.Plus && s == "+Inf" && !spec.Space) s = "+Inf";
        var numeric = !double.IsInfinity(v) && !double.IsNaN(v);
        Pad(sb, spec, s, numeric);
    }

    private static void FormatInt(StringBuilder sb, Spec spec, long v, char verb)
    {
        string digits;
        var neg = v < 0;
        var abs = neg ? (ulong)(-(v + 1)) + 1 : (ulong)v;
        switch (verb)
        {
            case 'c': Pad(sb, spec, char.ConvertFromUtf32(v is >= 0 and <= 0x10FFFF and not (>= 0xD800 and <= 0xDFFF) ? (int)v : 0xFFFD), false); return;
            case 'U': Pad(sb, spec, "U+" + v.ToString("X4", CultureInfo.InvariantCulture), false); return;
            case 'b': digits = Convert.ToString((long)abs, 2); break;
            case 'o' or 'O': digits = Convert.ToString((long)abs, 8); break;
            case 'x': digits = abs.ToString("x", CultureInfo.InvariantCulture); break;
            case 'X': digits = abs.ToString("X", CultureInfo.InvariantCulture); break;
            default: digits = abs.ToString(CultureInfo.InvariantCulture); break;
        }
        if (spec.HasPrec)
        {
            if (spec.Prec == 0 && v == 0) digits = "";
            else if (digits.Length < spec.Prec) digits = new string('0', spec.Prec - digits.Length) + digits;
        }
        var prefix = "";
        if (verb == 'O') prefix = "0o";
        else if (spec.Sharp) prefix = verb switch { 'x' => "0x", 'X' => "0X", 'o' => "0", 'b' => "0b", _ => "" };
        var sign = neg ? "-" : spec.Plus ? "+" : spec.Space ? " " : "";
        var body = prefix + digits;
        if (spec.HasPrec) spec.Zero = false;
        Pad(sb, spec, sign + body, true);
    }
}
