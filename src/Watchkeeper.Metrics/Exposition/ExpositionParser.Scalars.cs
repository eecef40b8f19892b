using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Unicode;
using Watchkeeper.Metrics.Model;

namespace Watchkeeper.Metrics.Exposition;

/// <summary>Numbers, character classes and the line reader shared by both formats.</summary>
public sealed partial class ExpositionParser
{
    // ---------------------------------------------------------------- scalars

    /// <summary>Parses a float as the formats allow: decimal or exponent notation, NaN, +Inf, -Inf (any case).</summary>
    public static bool TryParseFloat(ReadOnlySpan<byte> s, out double v)
    {
        v = 0;
        if (s.Length == 0) return false;
        if (TryParseSimpleDecimal(s, out v)) return true;
        var body = s[0] is (byte)'+' or (byte)'-' ? s[1..] : s;
        if (body.Length == 0) return false;
        if (Ascii.EqualsIgnoreCase(body, "inf"u8) || Ascii.EqualsIgnoreCase(body, "infinity"u8))
        {
            v = s[0] == '-' ? double.NegativeInfinity : double.PositiveInfinity;
            return true;
        }
        if (Ascii.EqualsIgnoreCase(body, "nan"u8))
        {
            v = double.NaN;
            return true;
        }
        foreach (var b in body)
            if (!(char.IsAsciiDigit((char)b) || b is (byte)'.' or (byte)'e' or (byte)'E' or (byte)'+' or (byte)'-' or (byte)'_'))
                return false;
        return double.TryParse(s, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent,
            CultureInfo.InvariantCulture, out v);
    }

    private static readonly double[] Pow10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

    /// <summary>
    /// Fast path for plain decimals with at most 15 digits: the mantissa and the power of ten are exact doubles, so
    /// one division gives the correctly rounded result, as the general parser would.
    /// </summary>
    private static bool TryParseSimpleDecimal(ReadOnlySpan<byte> s, out double v)
    {
        v = 0;
        var i = 0;
        var neg = false;
        if (s[0] == '-') { neg = true; i++; }
        else if (s[0] == '+') { i++; }
        ulong m = 0;
        var digits = 0;
        var frac = -1;
        for (; i < s.Length; i++)
        {
            var b = s[i];
            if (b is >= (byte)'0' and <= (byte)'9')
            {
                if (digits == 15) return false;
                m = (m * 10) + (ulong)(b - '0');
                digits++;
                if (frac >= 0) frac++;
            }
            else if (b == '.' && frac < 0)
            {
                frac = 0;
            }
            else
            {
                return false;
            }
        }
        if (digits == 0) return false;
        v = m;
        if (frac > 0) v /= Pow10[frac];
        if (neg) v = -v;
        return true;
    }

    private static bool IsBlank(byte b, bool openMetrics) => openMetrics ? b == ' ' : b is (byte)' ' or (byte)'\t';

    private static bool IsMetricNameChar(byte b, bool first) =>
        b is >= (byte)'a' and <= (byte)'z' or >= (byte)'A' and <= (byte)'Z' or (byte)'_' or (byte)':' || (!first && b is >= (byte)'0' and <= (byte)'9');

    private static bool IsLabelNameChar(byte b, bool first) =>
        b is >= (byte)'a' and <= (byte)'z' or >= (byte)'A' and <= (byte)'Z' or (byte)'_' || (!first && b is >= (byte)'0' and <= (byte)'9');

    private static string Printable(ReadOnlySpan<byte> s)
    {
        var t = s.Length > 40 ? s[..40] : s;
        return Encoding.UTF8.GetString(t);
    }

    private ref struct LineReader(ReadOnlySpan<byte> line, int lineNo)
    {
        public readonly ReadOnlySpan<byte> Line = line;
        public readonly int LineNo = lineNo;
        public int Pos;

        public readonly bool AtEnd => Pos >= Line.Length;
        public readonly byte Peek => Line[Pos];

        public void SkipBlanks()
        {
            while (Pos < Line.Length && Line[Pos] is (byte)' ' or (byte)'\t') Pos++;
        }

        /// <summary>Reads up to the next blank.</summary>
        public ReadOnlySpan<byte> Token(bool openMetrics)
        {
            var start = Pos;
            while (Pos < Line.Length && !(Line[Pos] == ' ' || (!openMetrics && Line[Pos] == '\t'))) Pos++;
            return Line[start..Pos];
        }

        public readonly ExpositionParseException Error(string reason) => new(LineNo, Pos + 1, reason);
    }
}
