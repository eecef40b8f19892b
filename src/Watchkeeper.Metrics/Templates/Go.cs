using System.Globalization;
using System.Text;

namespace Watchkeeper.Metrics.Templates;

/// <summary>Go's string quoting and number syntax (strconv.Quote, Unquote, ParseInt with base 0, ParseFloat).</summary>
internal static class Go
{
    public static string Quote(string s)
    {
        var sb = new StringBuilder(s.Length + 2);
        AppendQuoted(sb, s, '"');
        return sb.ToString();
    }

    public static string QuoteRune(int r)
    {
        var sb = new StringBuilder();
        AppendQuoted(sb, char.ConvertFromUtf32(r is >= 0 and <= 0x10FFFF and not (>= 0xD800 and <= 0xDFFF) ? r : 0xFFFD), '\'');
        return sb.ToString();
    }

    public static bool IsPrint(int r)
    {
        if (r == ' ') return true;
        if (r < 0x20 || r == 0x7f) return false;
        if (r < 0x7f) return true;
        var cat = CharUnicodeInfo.GetUnicodeCategory(r);
        return cat is not (UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.Surrogate or
            UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned or UnicodeCategory.LineSeparator or
            UnicodeCategory.ParagraphSeparator or UnicodeCategory.SpaceSeparator);
    }

    public static void AppendQuoted(StringBuilder sb, string s, char quote)
    {
        sb.Append(quote);
        for (var i = 0; i < s.Length; i++)
        {
            int r = s[i];
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                r = char.ConvertToUtf32(s[i], s[i + 1]);
                i++;
            }
            else if (char.IsSurrogate(s[i])) r = 0xFFFD;
            if (r == quote || r == '\\') { sb.Append('\\').Append((char)r); continue; }
            if (IsPrint(r)) { sb.Append(char.ConvertFromUtf32(r)); continue; }
            switch (r)
            {
                case '\a': sb.Append("\\a"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\v': sb.Append("\\v"); break;
                default:
                    if (r < ' ' || r == 0x7f) sb.Append("\\x").Append(r.ToString("x2", CultureInfo.InvariantCulture));
                    else if (r < 0x10000) sb.Append("\\u").Append(r.ToString("x4", CultureInfo.InvariantCulture));
                    else sb.Append("\\U").Append(r.ToString("x8", CultureInfo.InvariantCulture));
                    break;
            }
        }
        sb.Append(quote);
    }

    /// <summary>strconv.Unquote for a double-quoted Go string literal.</summary>
    public static bool TryUnquote(string quoted, out string value)
    {
        value = "";
        if (quoted.Length < 2 || quoted[0] != '"' || quoted[^1] != '"') return false;
        var sb = new StringBuilder(quoted.Length);
        var i = 1;
        while (i < quoted.Length - 1)
        {
            if (!TryUnquoteOne(quoted, ref i, '"', sb)) return false;
        }
        value = sb.ToString();
        return true;
    }

    public static bool TryUnquoteChar(string quoted, out int rune)
    {
        rune = 0;
        if (quoted.Length < 3 || quoted[0] != '\'' || quoted[^1] != '\'') return false;
        var sb = new StringBuilder();
        var i = 1;
        if (!TryUnquoteOne(quoted, ref i, '\'', sb) || i != quoted.Length - 1) return false;
        var s = sb.ToString();
        rune = char.IsSurrogatePair(s, 0) ? char.ConvertToUtf32(s, 0) : s[0];
        return s.Length == 1 || (s.Length == 2 && char.IsSurrogatePair(s, 0));
    }

    private static bool TryUnquoteOne(string s, ref int i, char quote, StringBuilder sb)
    {
        var c = s[i];
        if (c == quote || c == '\n') return false;
        if (c != '\\') { sb.Append(c); i++; return true; }
        if (i + 1 >= s.Length - 1) return false;
        var e = s[i + 1];
        i += 2;
        switch (e)
        {
            case 'a': sb.Append('\a'); return true;
            case 'b': sb.Append('\b'); return true;
            case 'f': sb.Append('\f'); return true;
            case 'n': sb.Append('\n'); return true;
            case 'r': sb.Append('\r'); return true;
            case 't': sb.Append('\t'); return true;
            case 'v': sb.Append('\v'); return true;
            case '\\': sb.Append('\\'); return true;
            case '\'' or '"':
                if (e != quote) return false;
                sb.Append(e);
                return true;
            case 'x': return Hex(s, ref i, 2, sb, byteValue: true);
            case 'u': return Hex(s, ref i, 4, sb, byteValue: false);
            case 'U': return Hex(s, ref i, 8, sb, byteValue: false);
            case >= '0' and <= '7':
                if (i + 1 >= s.Length) return false;
                var oct = s.Substring(i - 1, 3);
                if (oct.Any(ch => ch is < '0' or > '7')) return false;
                var v = Convert.ToInt32(oct, 8);
                if (v > 255) return false;
                sb.Append((char)v);
                i += 2;
                return true;
        }
        return false;
    }

    private static bool Hex(string s, ref int i, int n, StringBuilder sb, bool byteValue)
    {
        if (i + n > s.Length - 1) return false;
        if (!int.TryParse(s.AsSpan(i, n), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var v)) return false;
        i += n;
        if (byteValue) { sb.Append((char)v); return true; }
        if (v > 0x10FFFF || v is >= 0xD800 and <= 0xDFFF) return false;
        sb.Append(char.ConvertFromUtf32(v));
        return true;
    }

    /// <summary>strconv.ParseInt(s, 0, 64): sign, 0x/0o/0b prefixes, leading-zero octal, underscores after a prefix.</summary>
    public static bool TryParseInt(string s, out long value)
    {
        value = 0;
        var neg = false;
        var t = s.AsSpan();
        if (t.Length > 0 && t[0] is '+' or '-') { neg = t[0] == '-'; t = t[1..]; }
        if (t.Length == 0) return false;
        var radix = 10;
        if (t.Length > 1 && t[0] == '0')
        {
            switch (char.ToLowerInvariant(t[1]))
            {
                case 'x': radix = 16; t = t[2..]; break;
                case 'o': radix = 8; t = t[2..]; break;
                case 'b': radix = 2; t = t[2..]; break;
                default: radix = 8; t = t[1..]; break;
            }
        }
        if (t.Length == 0) return false;
        System.Numerics.BigInteger acc = 0;
        var sawDigit = false;
        foreach (var ch in t)
        {
            if (ch == '_') continue;
            var d = ch is >= '0' and <= '9' ? ch - '0' : ch is >= 'a' and <= 'z' ? ch - 'a' + 10 : ch is >= 'A' and <= 'Z' ? ch - 'A' + 10 : 99;
            if (d >= radix) return false;
            acc = acc * radix + d;
            sawDigit = true;
        }
        if (!sawDigit) return false;
        if (neg) acc = -acc;
        if (acc > long.MaxValue || acc < long.MinValue) return false;
        value = (long)acc;
        return true;
    }

    /// <summary>strconv.ParseFloat(s, 64); <paramref name="outOfRange"/> when the value overflows (the result is ±Inf).</summary>
    public static bool TryParseFloat(string s, out double value) => TryParseFloat(s, out value, out var range) && !range;

    public static bool TryParseFloat(string s, out double value, out bool outOfRange)
    {
        value = 0;
        outOfRange = false;
        var t = s;
        var sign = 1.0;
        var body = t;
        if (body.Length > 0 && body[0] is '+' or '-') { sign = body[0] == '-' ? -1 : 1; body = body[1..]; }
        var lower = body.ToLowerInvariant();
        if (lower is "inf" or "infinity") { value = sign * double.PositiveInfinity; return true; }
        if (lower == "nan" && body.Length == s.Length) { value = double.NaN; return true; }
        if (lower.StartsWith("0x", StringComparison.Ordinal)) return TryParseHexFloat(lower[2..].Replace("_", "", StringComparison.Ordinal), sign, out value);
        if (body.Length == 0 || body.Contains('_', StringComparison.Ordinal)) return false;
        foreach (var ch in body)
        {
            if (!(char.IsAsciiDigit(ch) || ch is '.' or 'e' or 'E' or '+' or '-')) return false;
        }
        if (!double.TryParse(body, NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out var v)) return false;
        if (double.IsInfinity(v)) outOfRange = true;
        value = sign * v;
        return true;
    }

    private static bool TryParseHexFloat(string s, double sign, out double value)
    {
        value = 0;
        var p = s.IndexOf('p', StringComparison.Ordinal);
        if (p < 0) return false;
        var mant = s[..p];
        if (!int.TryParse(s.AsSpan(p + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var exp)) return false;
        double m = 0;
        var dot = mant.IndexOf('.', StringComparison.Ordinal);
        var digits = mant.Replace(".", "", StringComparison.Ordinal);
        if (digits.Length == 0) return false;
        foreach (var ch in digits)
        {
            var d = Convert.ToInt32(ch.ToString(), 16);
            m = m * 16 + d;
        }
        if (dot >= 0) exp -= 4 * (mant.Length - dot - 1);
        value = sign * m * Math.Pow(2, exp);
        return true;
    }
}
