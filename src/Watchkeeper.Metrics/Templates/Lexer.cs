namespace Watchkeeper.Metrics.Templates;

internal enum TokenKind
{
    Error, Eof, Text, LeftDelim, RightDelim, Space, Identifier, Field, Variable, Dot, Nil, Bool, Number, String,
    RawString, Char, Pipe, LeftParen, RightParen, Declare, Assign, Comma,
    // keywords
    If, Else, End, Range, With, Define, Template, Block, Break, Continue,
}

internal readonly record struct Token(TokenKind Kind, int Pos, string Value, int Line)
{
    public override string ToString() => Kind switch
    {
        TokenKind.Eof => "EOF",
        TokenKind.Error => Value,
        TokenKind.Text or TokenKind.String or TokenKind.RawString or TokenKind.Char or TokenKind.Number => Go.Quote(Value),
        TokenKind.Space => "space",
        _ when Kind >= TokenKind.If => "<" + Value + ">",
        _ => Go.Quote(Value),
    };
}

/// <summary>
/// Splits template text into tokens, as Go's text/template lexer does: text outside actions, and inside
/// <c>{{ }}</c> identifiers, fields, variables, literals and punctuation; trim markers <c>{{- </c> and <c> -}}</c>
/// remove the adjacent white space of the text around them; <c>{{/* */}}</c> comments produce nothing.
/// </summary>
internal sealed class Lexer
{
    private static readonly Dictionary<string, TokenKind> Keywords = new(StringComparer.Ordinal)
    {
        ["if"] = TokenKind.If, ["else"] = TokenKind.Else, ["end"] = TokenKind.End, ["range"] = TokenKind.Range,
        ["with"] = TokenKind.With, ["define"] = TokenKind.Define, ["template"] = TokenKind.Template,
        ["block"] = TokenKind.Block, ["break"] = TokenKind.Break, ["continue"] = TokenKind.Continue,
        ["nil"] = TokenKind.Nil, ["true"] = TokenKind.Bool, ["false"] = TokenKind.Bool,
    };

    private readonly string _text;
    private readonly string _left;
    private readonly string _right;
    private readonly List<Token> _tokens = [];
    private int _pos;
    private int _start;
    private int _line = 1;
    private int _startLine = 1;
    private int _parenDepth;

    private Lexer(string text, string left, string right)
    {
        _text = text;
        _left = left;
        _right = right;
    }

    public static List<Token> Lex(string text, string? left = null, string? right = null)
    {
        var lexer = new Lexer(text, string.IsNullOrEmpty(left) ? "{{" : left, string.IsNullOrEmpty(right) ? "}}" : right);
        lexer.Run();
        return lexer._tokens;
    }

    private static bool IsTrimSpace(char c) => c is ' ' or '\t' or '\r' or '\n';

    private void Emit(TokenKind kind)
    {
        _tokens.Add(new Token(kind, _start, _text[_start.._pos], _startLine));
        _start = _pos;
        _startLine = _line;
    }

    private void Ignore()
    {
        _line += CountNewlines(_start, _pos);
        _start = _pos;
        _startLine = _line;
    }

    private int CountNewlines(int from, int to)
    {
        var n = 0;
        for (var i = from; i < to; i++) if (_text[i] == '\n') n++;
        return n;
    }

    private char Peek(int offset = 0) => _pos + offset < _text.Length ? _text[_pos + offset] : '\0';
    private bool AtEnd => _pos >= _text.Length;

    private char Next()
    {
        if (_pos >= _text.Length) { _pos++; return '\0'; }
        var c = _text[_pos++];
        if (c == '\n') _line++;
        return c;
    }

    private void Backup()
    {
        _pos--;
        if (_pos < _text.Length && _text[_pos] == '\n') _line--;
    }

    private bool Error(string message)
    {
        _tokens.Add(new Token(TokenKind.Error, _start, message, _startLine));
        return false;
    }

    private void Run()
    {
        while (LexText())
        {
            if (!LexInsideAction()) return;
        }
    }

    // Text up to the next left delimiter; returns false at the end of input (after emitting EOF).
    private bool LexText()
    {
        var idx = _text.IndexOf(_left, _pos, StringComparison.Ordinal);
        if (idx < 0)
        {
            _pos = _text.Length;
            if (_pos > _start) { _line += CountNewlines(_start, _pos); EmitText(_pos); }
            _tokens.Add(new Token(TokenKind.Eof, _pos, "", _line));
            return false;
        }
        var textEnd = idx;
        var trimLeft = HasLeftTrim(idx + _left.Length);
        if (trimLeft)
        {
            while (textEnd > _start && IsTrimSpace(_text[textEnd - 1])) textEnd--;
        }
        _pos = idx;
        _line += CountNewlines(_start, _pos);
        if (textEnd > _start) EmitText(textEnd);
        _start = _pos;
        _startLine = _line;
        return true;
    }

    private void EmitText(int end)
    {
        _tokens.Add(new Token(TokenKind.Text, _start, _text[_start..end], _startLine));
    }

    private bool HasLeftTrim(int afterDelim) =>
        afterDelim + 1 < _text.Length && _text[afterDelim] == '-' && IsTrimSpace(_text[afterDelim + 1]);

    private bool AtRightTrim() =>
        _pos + 1 < _text.Length && IsTrimSpace(_text[_pos]) && _text[_pos + 1] == '-' &&
        string.CompareOrdinal(_text, _pos + 2, _right, 0, _right.Length) == 0;

    private bool AtRightDelim() => string.CompareOrdinal(_text, _pos, _right, 0, _right.Length) == 0;

    // After the left delimiter: a comment, or tokens up to the right delimiter.
    private bool LexInsideAction()
    {
        var trimLeft = HasLeftTrim(_pos + _left.Length);
        _pos += _left.Length;
        if (trimLeft) _pos += 2;
        if (_text.AsSpan(_pos).StartsWith("/*", StringComparison.Ordinal))
        {
            return LexComment(trimLeft);
        }
        _tokens.Add(new Token(TokenKind.LeftDelim, _start, _left, _startLine));
        _line += CountNewlines(_start, _pos);
        _start = _pos;
        _startLine = _line;
        _parenDepth = 0;
        while (true)
        {
            if (AtRightTrim() || AtRightDelim())
            {
                if (_parenDepth > 0) return Error("unclosed left paren");
                var trim = AtRightTrim();
                if (trim) { _pos += 1; Ignore(); _pos += 1; }
                _start = _pos;
                _pos += _right.Length;
                Emit(TokenKind.RightDelim);
                if (trim) SkipTrailingSpace();
                return true;
            }
            if (AtEnd) return Error("unclosed action");
            var c = Next();
            if (c == '\n' || c == '\r' || c == ' ' || c == '\t')
            {
                while (Peek() is ' ' or '\t' or '\r' or '\n' && !AtRightTrim()) Next();
                Emit(TokenKind.Space);
            }
            else if (c == '=') Emit(TokenKind.Assign);
            else if (c == ':')
            {
                if (Next() != '=') return Error("expected :=");
                Emit(TokenKind.Declare);
            }
            else if (c == '|') Emit(TokenKind.Pipe);
            else if (c == '"') { if (!LexQuote()) return false; }
            else if (c == '`') { if (!LexRawQuote()) return false; }
            else if (c == '$') LexWord(TokenKind.Variable);
            else if (c == '\'') { if (!LexChar()) return false; }
            else if (c == '.')
            {
                if (_pos < _text.Length && char.IsAsciiDigit(_text[_pos])) { Backup(); if (!LexNumber()) return false; }
                else if (IsAlnum(Peek())) LexWord(TokenKind.Field);
                else Emit(TokenKind.Dot);
            }
            else if (c == '+' || c == '-' || char.IsAsciiDigit(c)) { Backup(); if (!LexNumber()) return false; }
            else if (IsAlnum(c)) { Backup(); LexIdentifier(); }
            else if (c == '(') { _parenDepth++; Emit(TokenKind.LeftParen); }
            else if (c == ')')
            {
                _parenDepth--;
                if (_parenDepth < 0) return Error("unexpected right paren");
                Emit(TokenKind.RightParen);
            }
            else if (c == ',') Emit(TokenKind.Comma);
            else if (c == '\0' && AtEnd) return Error("unclosed action");
            else return Error($"unrecognized character in action: {Go.QuoteRune(c)}");
        }
    }

    private void SkipTrailingSpace()
    {
        while (_pos < _text.Length && IsTrimSpace(_text[_pos])) Next();
        _start = _pos;
        _startLine = _line;
    }

    private bool LexComment(bool trimLeft)
    {
        _ = trimLeft;
        var end = _text.IndexOf("*/", _pos + 2, StringComparison.Ordinal);
        if (end < 0) return Error("unclosed comment");
        _pos = end + 2;
        var trimRight = AtRightTrim();
        if (trimRight) _pos += 2;
        if (!AtRightDelim()) return Error("comment ends before closing delimiter");
        _pos += _right.Length;
        Ignore();
        if (trimRight) SkipTrailingSpace();
        return true;
    }

    private static bool IsAlnum(char c) => c == '_' || char.IsLetterOrDigit(c);

    private void LexWord(TokenKind kind)
    {
        while (IsAlnum(Peek())) Next();
        Emit(kind);
    }

    private void LexIdentifier()
    {
        while (IsAlnum(Peek())) Next();
        var word = _text[_start.._pos];
        Emit(Keywords.TryGetValue(word, out var kw) ? kw : TokenKind.Identifier);
    }

    private bool LexQuote()
    {
        while (true)
        {
            var c = Next();
            if (c == '\\')
            {
                var n = Next();
                if (n == '\n' || (n == '\0' && _pos > _text.Length)) return Error("unterminated quoted string");
            }
            else if (c == '\n' || (c == '\0' && _pos > _text.Length)) return Error("unterminated quoted string");
            else if (c == '"') break;
        }
        Emit(TokenKind.String);
        return true;
    }

    private bool LexRawQuote()
    {
        var end = _text.IndexOf('`', _pos);
        if (end < 0) return Error("unterminated raw quoted string");
        _line += CountNewlines(_pos, end);
        _pos = end + 1;
        Emit(TokenKind.RawString);
        return true;
    }

    private bool LexChar()
    {
        while (true)
        {
            var c = Next();
            if (c == '\\')
            {
                var n = Next();
                if (n == '\n' || (n == '\0' && _pos > _text.Length)) return Error("unterminated character constant");
            }
            else if (c == '\n' || (c == '\0' && _pos > _text.Length)) return Error("unterminated character constant");
            else if (c == '\'') break;
        }
        Emit(TokenKind.Char);
        return true;
    }

    private bool LexNumber()
    {
        if (Peek() is '+' or '-') Next();
        var digits = "0123456789_";
        if (Peek() == '0' && Peek(1) is 'x' or 'X' or 'o' or 'O' or 'b' or 'B')
        {
            Next();
            var p = char.ToLowerInvariant(Next());
            digits = p == 'x' ? "0123456789abcdefABCDEF_" : p == 'o' ? "01234567_" : "01_";
        }
        while (_pos < _text.Length && digits.Contains(_text[_pos], StringComparison.Ordinal)) Next();
        if (Peek() == '.')
        {
            Next();
            while (_pos < _text.Length && digits.Contains(_text[_pos], StringComparison.Ordinal)) Next();
        }
        if (digits.Length == 11 && Peek() is 'e' or 'E' || digits.Length == 23 && Peek() is 'p' or 'P')
        {
            Next();
            if (Peek() is '+' or '-') Next();
            while (char.IsAsciiDigit(Peek()) || Peek() == '_') Next();
        }
        if (IsAlnum(Peek()))
        {
            Next();
            return Error($"bad number syntax: {Go.Quote(_text[_start.._pos])}");
        }
        Emit(TokenKind.Number);
        return true;
    }
}
