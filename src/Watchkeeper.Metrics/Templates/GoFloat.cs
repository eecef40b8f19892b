using System.Globalization;
using System.Numerics;
using System.Text;

namespace Watchkeeper.Metrics.Templates;

/// <summary>
/// Go's strconv.FormatFloat for float64 with the formats 'e', 'f' and 'g': shortest digits that round-trip when the
/// precision is -1, otherwise digits correctly rounded (half to even) from the exact binary value. 'g' drops trailing
/// zeros and switches to exponent form when the exponent is below -4 or at least the precision (6 when shortest).
/// </summary>
public static class GoFloat
{
    /// <summary>Formats <paramref name="v"/> as Go's <c>strconv.FormatFloat(v, fmt, prec, 64)</c>.</summary>
    public static string Format(double v, char fmt, int prec)
    {
        var sb = new StringBuilder(24);
        Append(sb, v, fmt, prec);
        return sb.ToString();
    }

    public static void Append(StringBuilder sb, double v, char fmt, int prec)
    {
        if (double.IsNaN(v)) { sb.Append("NaN"); return; }
        if (double.IsPositiveInfinity(v)) { sb.Append("+Inf"); return; }
        if (double.IsNegativeInfinity(v)) { sb.Append("-Inf"); return; }
        var neg = double.IsNegative(v);
        var upper = char.IsUpper(fmt);
        var f = char.ToLowerInvariant(fmt);
        string digits;
        int dp;
        var shortest = prec < 0;
        if (shortest)
        {
            (digits, dp) = ShortestDigits(Math.Abs(v));
            prec = f switch
            {
                'e' => Math.Max(digits.Length - 1, 0),
                'f' => Math.Max(digits.Length - dp, 0),
                _ => digits.Length,
            };
        }
        else
        {
            (digits, dp) = ExactDigits(Math.Abs(v));
            switch (f)
            {
                case 'e': (digits, dp) = Round(digits, dp, prec + 1); break;
                case 'f': (digits, dp) = Round(digits, dp, dp + prec); break;
                default:
                    if (prec == 0) prec = 1;
                    (digits, dp) = Round(digits, dp, prec);
                    break;
            }
        }
        if (neg) sb.Append('-');
        switch (f)
        {
            case 'e': AppendE(sb, digits, dp, prec, upper ? 'E' : 'e'); return;
            case 'f': AppendF(sb, digits, dp, prec); return;
        }
        var eprec = prec;
        if (eprec > digits.Length && digits.Length >= dp) eprec = digits.Length;
        if (shortest) eprec = 6;
        var exp = dp - 1;
        if (exp < -4 || exp >= eprec)
        {
            if (prec > digits.Length) prec = digits.Length;
            AppendE(sb, digits, dp, prec - 1, upper ? 'E' : 'e');
            return;
        }
        if (prec > dp) prec = digits.Length;
        AppendF(sb, digits, dp, Math.Max(prec - dp, 0));
    }

    private static void AppendE(StringBuilder sb, string d, int dp, int prec, char e)
    {
        sb.Append(d.Length == 0 ? '0' : d[0]);
        if (prec > 0)
        {
            sb.Append('.');
            var i = 1;
            var m = Math.Min(d.Length, prec + 1);
            if (i < m) { sb.Append(d, i, m - i); i = m; }
            for (; i <= prec; i++) sb.Append('0');
        }
        sb.Append(e);
        var exp = d.Length == 0 ? 0 : dp - 1;
        sb.Append(exp < 0 ? '-' : '+');
        exp = Math.Abs(exp);
        if (exp < 10) sb.Append('0');
        sb.Append(exp.ToString(CultureInfo.InvariantCulture));
    }

    private static void AppendF(StringBuilder sb, string d, int dp, int prec)
    {
        if (dp > 0)
        {
            var m = Math.Min(d.Length, dp);
            sb.Append(d, 0, m);
            for (; m < dp; m++) sb.Append('0');
        }
        else sb.Append('0');
        if (prec > 0)
        {
            sb.Append('.');
            for (var i = 1; i <= prec; i++)
            {
                var j = dp + i - 1;
                sb.Append(j >= 0 && j < d.Length ? d[j] : '0');
            }
        }
    }

    /// <summary>The shortest decimal digits that read back as <paramref name="v"/> (v ≥ 0), and the decimal point position.</summary>
    internal static (string Digits, int Dp) ShortestDigits(double v)
    {
        if (v == 0) return ("", 0);
        var r = v.ToString("R", CultureInfo.InvariantCulture);
        var exp = 0;
        var ei = r.IndexOf('E', StringComparison.Ordinal);
        if (ei >= 0)
        {
            exp = int.Parse(r.AsSpan(ei + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            r = r[..ei];
        }
        var dot = r.IndexOf('.', StringComparison.Ordinal);
        var intLen = dot < 0 ? r.Length : dot;
        var digits = dot < 0 ? r : r.Remove(dot, 1);
        var dp = intLen + exp;
        var lead = 0;
        while (lead < digits.Length && digits[lead] == '0') lead++;
        digits = digits[lead..].TrimEnd('0');
        dp -= lead;
        return (digits, dp);
    }

    /// <summary>The exact decimal expansion of <paramref name="v"/> (v ≥ 0, finite).</summary>
    internal static (string Digits, int Dp) ExactDigits(double v)
    {
        if (v == 0) return ("", 0);
        var bits = BitConverter.DoubleToInt64Bits(v);
        var exponent = (int)((bits >> 52) & 0x7FF);
        var mantissa = bits & 0xFFFFFFFFFFFFFL;
        if (exponent == 0) exponent = 1;
        else mantissa |= 1L << 52;
        exponent -= 1075;
        string digits;
        int dp;
        if (exponent >= 0)
        {
            digits = (new BigInteger(mantissa) << exponent).ToString(CultureInfo.InvariantCulture);
            dp = digits.Length;
        }
        else
        {
            digits = (new BigInteger(mantissa) * BigInteger.Pow(5, -exponent)).ToString(CultureInfo.InvariantCulture);
            dp = digits.Length + exponent;
        }
        var trimmed = digits.TrimEnd('0');
        return (trimmed, dp);
    }

    /// <summary>Rounds to <paramref name="nd"/> significant digits, half to even; trailing zeros removed.</summary>
    internal static (string Digits, int Dp) Round(string d, int dp, int nd)
    {
        if (nd < 0 || nd >= d.Length) return nd < 0 ? ("", dp) : (d, dp);
        bool up;
        if (d[nd] == '5' && nd + 1 == d.Length) up = nd > 0 && (d[nd - 1] - '0') % 2 == 1;
        else up = d[nd] >= '5';
        if (!up) return (d[..nd].TrimEnd('0'), dp);
        var chars = d[..nd].ToCharArray();
        var i = nd - 1;
        while (i >= 0 && chars[i] == '9') i--;
        if (i < 0) return ("1", dp + 1);
        chars[i]++;
        return (new string(chars, 0, i + 1), dp);
    }
}
