using System.Globalization;
using System.Text;
using Watchkeeper.Metrics.Model;

namespace Watchkeeper.Metrics.PromQL;

/// <summary>The value of a query: one of <see cref="ScalarResult"/>, <see cref="StringResult"/>, <see cref="VectorResult"/>, <see cref="MatrixResult"/>.</summary>
public abstract record QueryValue
{
    public abstract ValueKind Kind { get; }
}

public sealed record ScalarResult(long T, double V) : QueryValue
{
    public override ValueKind Kind => ValueKind.Scalar;
}

public sealed record StringResult(long T, string V) : QueryValue
{
    public override ValueKind Kind => ValueKind.String;
}

/// <summary>One element of an instant vector: series labels, evaluation timestamp (ms) and value.</summary>
public readonly record struct VectorSample(Labels Labels, long T, double V, FloatHistogram? H = null);

/// <summary>A series of a range result: float points and (for native histograms) histogram points, each in time order.</summary>
public sealed record MatrixSeries(Labels Labels, IReadOnlyList<Sample> Floats, IReadOnlyList<HistogramSample> Histograms);

public sealed record VectorResult(IReadOnlyList<VectorSample> Samples) : QueryValue
{
    public override ValueKind Kind => ValueKind.Vector;
}

/// <summary>A range vector (matrix): series sorted by labels, each with samples in time order.</summary>
public sealed record MatrixResult(IReadOnlyList<MatrixSeries> Series) : QueryValue
{
    public override ValueKind Kind => ValueKind.Matrix;
}

/// <summary>A query's value plus the warnings and infos (annotations) raised while evaluating it.</summary>
public sealed record QueryResult(QueryValue Value, IReadOnlyList<string> Warnings, IReadOnlyList<string> Infos);

/// <summary>Why a query failed at evaluation time.</summary>
public enum QueryErrorKind { Execution, Timeout, Canceled, TooManySamples }

/// <summary>An evaluation error (bad data shapes, limits, timeouts). Parse errors are <see cref="ParseException"/>.</summary>
public sealed class QueryException : Exception
{
    public QueryException(QueryErrorKind kind, string message) : base(message) => Kind = kind;
    public QueryException() : this(QueryErrorKind.Execution, "query failed") { }
    public QueryException(string message) : this(QueryErrorKind.Execution, message) { }
    public QueryException(string message, Exception inner) : base(message, inner) { }
    public QueryErrorKind Kind { get; }
}

/// <summary>Engine settings. Defaults match Prometheus.</summary>
public sealed record EngineOptions
{
    /// <summary>How far back an instant selector looks for the latest sample.</summary>
    public TimeSpan LookbackDelta { get; init; } = TimeSpan.FromMinutes(5);
    /// <summary>Maximum evaluation time of one query.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(2);
    /// <summary>Maximum number of samples held in memory at once by one query.</summary>
    public long MaxSamples { get; init; } = 50_000_000;
    /// <summary>Step of subqueries written without one (<c>x[5m:]</c>).</summary>
    public TimeSpan DefaultSubqueryStep { get; init; } = TimeSpan.FromMinutes(1);
    /// <summary>
    /// Queries evaluated at once (Prometheus's <c>--query.max-concurrency</c>); further queries wait in a queue and their
    /// timeout keeps running. 0 or less: no limit.
    /// </summary>
    public int MaxConcurrency { get; init; } = 20;
    /// <summary>A range query may have at most this many steps after its first (Prometheus's 11,000 points per series).</summary>
    public long MaxResolution { get; init; } = 11_000;
}

internal static class Fmt
{
    /// <summary>Go's strconv.FormatFloat(f, 'f', -1, 64): shortest round-trip digits, never an exponent.</summary>
    public static string FloatPlain(double v)
    {
        if (double.IsNaN(v)) return "NaN";
        if (double.IsPositiveInfinity(v)) return "+Inf";
        if (double.IsNegativeInfinity(v)) return "-Inf";
        var r = v.ToString("R", CultureInfo.InvariantCulture);
        var e = r.IndexOfAny(['E', 'e']);
        if (e < 0) return r;
        var exp = int.Parse(r.AsSpan(e + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        var mant = r[..e];
        var neg = mant.StartsWith('-');
        if (neg) mant = mant[1..];
        var dot = mant.IndexOf('.', StringComparison.Ordinal);
        var digits = dot < 0 ? mant : mant.Remove(dot, 1);
        var intLen = (dot < 0 ? mant.Length : dot) + exp;
        string res;
        if (intLen <= 0) res = "0." + new string('0', -intLen) + digits;
        else if (intLen >= digits.Length) res = digits + new string('0', intLen - digits.Length);
        else res = digits[..intLen] + "." + digits[intLen..];
        return neg ? "-" + res : res;
    }

    /// <summary>OpenMetrics-style float label value: integral values keep one decimal ("1.0").</summary>
    public static string QuantileLabel(double v)
    {
        var s = FloatPlain(v);
        if (double.IsFinite(v) && !s.Contains('.', StringComparison.Ordinal)) s += ".0";
        return s;
    }

    /// <summary>Go's %g-like formatting used in messages.</summary>
    public static string FloatG(double v)
    {
        if (double.IsNaN(v)) return "NaN";
        if (double.IsPositiveInfinity(v)) return "+Inf";
        if (double.IsNegativeInfinity(v)) return "-Inf";
        return v.ToString("R", CultureInfo.InvariantCulture).Replace("E+", "e+", StringComparison.Ordinal).Replace("E-", "e-", StringComparison.Ordinal);
    }

    /// <summary>Labels as Prometheus prints a label set: <c>{__name__="x", a="b"}</c>.</summary>
    public static string LabelSet(Labels l)
    {
        var sb = new StringBuilder("{");
        for (var i = 0; i < l.Count; i++)
        {
            if (i > 0) sb.Append(", ");
            sb.Append(l[i].Name).Append('=').Append(Quote(l[i].Value));
        }
        return sb.Append('}').ToString();
    }

    /// <summary>Go-style %q quoting; chars U+DC80..U+DCFF stand for raw invalid bytes and print as \xHH.</summary>
    public static string Quote(string s)
    {
        var sb = new StringBuilder("\"");
        foreach (var c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\t': sb.Append("\\t"); break;
                case '\r': sb.Append("\\r"); break;
                case >= '\uDC80' and <= '\uDCFF': sb.Append("\\x").Append(((int)c - 0xDC00).ToString("x2", CultureInfo.InvariantCulture)); break;
                default: sb.Append(c); break;
            }
        }
        return sb.Append('"').ToString();
    }

    /// <summary>A label name is valid when it is non-empty, valid UTF-16 (so valid UTF-8) text.</summary>
    public static bool IsValidLabelName(string s)
    {
        if (s.Length == 0) return false;
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1])) { i++; continue; }
            if (char.IsSurrogate(c)) return false;
        }
        return true;
    }
}
