using System.Globalization;
using System.Text;
using Watchkeeper.Metrics.Model;

namespace Watchkeeper.Metrics.PromQL;

/// <summary>A PromQL syntax error with the 0-based char offset where it was found.</summary>
public sealed class ParseException : Exception
{
    public ParseException(int position, string detail) : base($"parse error at char {position + 1}: {detail}")
    {
        Position = position;
        Detail = detail;
    }

    public ParseException() : this(0, "parse error") { }
    public ParseException(string message) : this(0, message) { }
    public ParseException(string message, Exception inner) : base(message, inner) { Detail = message; }

    /// <summary>0-based char offset into the query text (the message shows it 1-based).</summary>
    public int Position { get; }
    public string Detail { get; } = "";
}

internal enum TokenKind
{
    Eof, Identifier, Number, Duration, String,
    LParen, RParen, LBrace, RBrace, LBracket, RBracket, Comma, Colon, At,
    Assign, // =
    Eq, Ne, RegexMatch, RegexNoMatch, Lt, Gt, Le, Ge,
    Add, Sub, Mul, Div, Mod, Pow,
}

internal readonly record struct Token(TokenKind Kind, int Pos, string Text, double Number = 0, long DurationMs = 0);

/// <summary>Turns a PromQL string into tokens. Keywords come out as identifiers; the parser decides by context.</summary>
internal static class Lexer
{
    public static List<Token> Tokenize(string input)
    {
        var tokens = new List<Token>();
        var i = 0;
        var n = input.Length;
        var braceDepth = 0;
        while (true)
        {
            while (i < n && char.IsWhiteSpace(input[i])) i++;
            if (i < n && input[i] == '#')
            {
                while (i < n && input[i] != '\n') i++;
                continue;
            }
            if (i >= n) { tokens.Add(new Token(TokenKind.Eof, n, "")); return tokens; }
            var start = i;
            var c = input[i];
            switch (c)
            {
                case '(': tokens.Add(new(TokenKind.LParen, i++, "(")); continue;
                case ')': tokens.Add(new(TokenKind.RParen, i++, ")")); continue;
                case '{': braceDepth++; tokens.Add(new(TokenKind.LBrace, i++, "{")); continue;
                case '}': braceDepth--; tokens.Add(new(TokenKind.RBrace, i++, "}")); continue;
                case '[': tokens.Add(new(TokenKind.LBracket, i++, "[")); continue;
                case ']': tokens.Add(new(TokenKind.RBracket, i++, "]")); continue;
                case ',': tokens.Add(new(TokenKind.Comma, i++, ",")); continue;
                case ':' when braceDepth > 0 || i + 1 >= n || !IsIdentStart(input[i + 1]) && input[i + 1] != ':':
                    tokens.Add(new(TokenKind.Colon, i++, ":")); continue;
                case '@': tokens.Add(new(TokenKind.At, i++, "@")); continue;
                case '+': tokens.Add(new(TokenKind.Add, i++, "+")); continue;
                case '-': tokens.Add(new(TokenKind.Sub, i++, "-")); continue;
                case '*': tokens.Add(new(TokenKind.Mul, i++, "*")); continue;
                case '/': tokens.Add(new(TokenKind.Div, i++, "/")); continue;
                case '%': tokens.Add(new(TokenKind.Mod, i++, "%")); continue;
                case '^': tokens.Add(new(TokenKind.Pow, i++, "^")); continue;
                case '=':
                    if (i + 1 < n && input[i + 1] == '=') { tokens.Add(new(TokenKind.Eq, i, "==")); i += 2; }
                    else if (i + 1 < n && input[i + 1] == '~') { tokens.Add(new(TokenKind.RegexMatch, i, "=~")); i += 2; }
                    else tokens.Add(new(TokenKind.Assign, i++, "="));
                    continue;
                case '!':
                    if (i + 1 < n && input[i + 1] == '=') { tokens.Add(new(TokenKind.Ne, i, "!=")); i += 2; continue; }
                    if (i + 1 < n && input[i + 1] == '~') { tokens.Add(new(TokenKind.RegexNoMatch, i, "!~")); i += 2; continue; }
                    throw new ParseException(i, "unexpected character after '!': " + Describe(input, i + 1));
                case '<':
                    if (i + 1 < n && input[i + 1] == '=') { tokens.Add(new(TokenKind.Le, i, "<=")); i += 2; }
                    else tokens.Add(new(TokenKind.Lt, i++, "<"));
                    continue;
                case '>':
                    if (i + 1 < n && input[i + 1] == '=') { tokens.Add(new(TokenKind.Ge, i, ">=")); i += 2; }
                    else tokens.Add(new(TokenKind.Gt, i++, ">"));
                    continue;
                case '"' or '\'' or '`':
                    tokens.Add(new(TokenKind.String, start, ReadString(input, ref i)));
                    continue;
            }
            if (char.IsAsciiDigit(c) || (c == '.' && i + 1 < n && char.IsAsciiDigit(input[i + 1])))
            {
                tokens.Add(ReadNumberOrDuration(input, ref i));
                continue;
            }
            if (IsIdentStart(c) || c == ':')
            {
                while (i < n && (IsIdentStart(input[i]) || char.IsAsciiDigit(input[i]) || input[i] == ':')) i++;
                var word = input[start..i];
                if (braceDepth > 0 && word.Contains(':', StringComparison.Ordinal))
                    throw new ParseException(start, $"unexpected character in label name: \"{word}\"");
                tokens.Add(new(TokenKind.Identifier, start, word));
                continue;
            }
            throw new ParseException(i, "unexpected character: " + Describe(input, i));
        }
    }

    private static string Describe(string input, int i) => i >= input.Length ? "end of input" : "'" + input[i] + "'";

    private static bool IsIdentStart(char c) => char.IsAsciiLetter(c) || c == '_';

    private static Token ReadNumberOrDuration(string s, ref int i)
    {
        var start = i;
        var n = s.Length;
        if (s[i] == '0' && i + 1 < n && (s[i + 1] == 'x' || s[i + 1] == 'X'))
        {
            i += 2;
            var hs = i;
            while (i < n && char.IsAsciiHexDigit(s[i])) i++;
            if (i == hs) throw new ParseException(start, "bad number literal: " + s[start..i]);
            if (i < n && (char.IsAsciiLetter(s[i]) || s[i] == '_')) throw new ParseException(i, "bad number or duration syntax: \"" + s[start..(i + 1)] + "\"");
            var text = s[start..i];
            var v = (double)ulong.Parse(s[hs..i], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            return new Token(TokenKind.Number, start, text, v);
        }
        // Duration: digits followed by a unit, possibly repeated (1h30m). The token is the run of letters and digits;
        // its value comes from the one duration grammar (Model/PromDuration).
        var j = i;
        while (j < n && char.IsAsciiDigit(s[j])) j++;
        if (j < n && j > i && IsUnitStart(s, j))
        {
            var k = j;
            while (k < n && char.IsAsciiLetterOrDigit(s[k])) k++;
            var text = s[start..k];
            if (k < n && (s[k] == '_' || s[k] == '.')) throw new ParseException(start, "bad duration syntax: \"" + s[start..(k + 1)] + "\"");
            if (!PromDuration.TryParse(text, out var dur, out var error))
                throw new ParseException(start, error == "duration out of range" ? error : "bad duration syntax: \"" + text + "\"");
            var total = (long)dur.TotalMilliseconds;
            i = k;
            return new Token(TokenKind.Duration, start, text, total / 1000.0, total);
        }
        while (i < n && char.IsAsciiDigit(s[i])) i++;
        if (i < n && s[i] == '.') { i++; while (i < n && char.IsAsciiDigit(s[i])) i++; }
        if (i < n && (s[i] == 'e' || s[i] == 'E'))
        {
            var save = i;
            i++;
            if (i < n && (s[i] == '+' || s[i] == '-')) i++;
            if (i < n && char.IsAsciiDigit(s[i])) { while (i < n && char.IsAsciiDigit(s[i])) i++; }
            else i = save;
        }
        if (i < n && (char.IsAsciiLetter(s[i]) || s[i] == '_'))
            throw new ParseException(i, "bad number or duration syntax: \"" + s[start..(i + 1)] + "\"");
        var t = s[start..i];
        if (!double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var d)) throw new ParseException(start, "bad number literal: " + t);
        return new Token(TokenKind.Number, start, t, d);
    }

    private static bool IsUnitStart(string s, int k) => k < s.Length && s[k] is 'm' or 's' or 'h' or 'd' or 'w' or 'y';

    private static string ReadString(string s, ref int i)
    {
        var start = i;
        var q = s[i++];
        var sb = new StringBuilder();
        if (q == '`')
        {
            while (i < s.Length && s[i] != '`') sb.Append(s[i++]);
            if (i >= s.Length) throw new ParseException(start, "unterminated raw string");
            i++;
            return sb.ToString();
        }
        while (true)
        {
            if (i >= s.Length || s[i] == '\n') throw new ParseException(start, "unterminated quoted string");
            var c = s[i++];
            if (c == q) return sb.ToString();
            if (c != '\\') { sb.Append(c); continue; }
            if (i >= s.Length) throw new ParseException(start, "unterminated quoted string");
            var e = s[i++];
            switch (e)
            {
                case 'a': sb.Append('\a'); break;
                case 'b': sb.Append('\b'); break;
                case 'f': sb.Append('\f'); break;
                case 'n': sb.Append('\n'); break;
                case 'r': sb.Append('\r'); break;
                case 't': sb.Append('\t'); break;
                case 'v': sb.Append('\v'); break;
                case '\\': sb.Append('\\'); break;
                case '"' when q == '"': sb.Append('"'); break;
                case '\'' when q == '\'': sb.Append('\''); break;
                case 'x': { var hx = ReadHex(s, ref i, 2, start); sb.Append(hx >= 0x80 ? (char)(0xDC00 + hx) : (char)hx); break; }
                case 'u': AppendCodePoint(sb, ReadHex(s, ref i, 4, start), start); break;
                case 'U': AppendCodePoint(sb, ReadHex(s, ref i, 8, start), start); break;
                case >= '0' and <= '7':
                    {
                        var v = e - '0';
                        for (var k = 0; k < 2; k++)
                        {
                            if (i >= s.Length || s[i] < '0' || s[i] > '7') throw new ParseException(i, "illegal character in octal escape");
                            v = v * 8 + (s[i++] - '0');
                        }
                        if (v > 255) throw new ParseException(i, "octal escape value > 255");
                        sb.Append((char)v);
                        break;
                    }
                default: throw new ParseException(i - 2, "unknown escape sequence " + Rune(e));
            }
        }
    }

    private static string Rune(char e) => "'" + e + "'";

    private static int ReadHex(string s, ref int i, int digits, int start)
    {
        if (i + digits > s.Length) throw new ParseException(start, "unterminated escape sequence");
        var span = s.AsSpan(i, digits);
        foreach (var ch in span)
            if (!char.IsAsciiHexDigit(ch)) throw new ParseException(i, "illegal character in escape sequence");
        var v = uint.Parse(span, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        i += digits;
        return v > 0x10FFFF ? -1 : (int)v;
    }

    private static void AppendCodePoint(StringBuilder sb, int cp, int pos)
    {
        if (cp < 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) throw new ParseException(pos, "escape sequence is an invalid Unicode code point");
        sb.Append(char.ConvertFromUtf32(cp));
    }
}
