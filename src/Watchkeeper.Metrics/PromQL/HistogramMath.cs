using Watchkeeper.Metrics.Model;

namespace Watchkeeper.Metrics.PromQL;

/// <summary>Arithmetic and estimates on custom-bucket native histograms.</summary>
internal static class HistogramMath
{
    public static bool SameLayout(FloatHistogram a, FloatHistogram b)
    {
        if (a.Schema != b.Schema) return false;
        if (!a.UsesCustomBuckets) return true;
        if (a.Bounds.Length != b.Bounds.Length) return false;
        for (var i = 0; i < a.Bounds.Length; i++) if (a.Bounds[i] != b.Bounds[i]) return false;
        return true;
    }

    /// <summary>a + factor*b; null when the layouts differ.</summary>
    public static FloatHistogram? Add(FloatHistogram a, FloatHistogram b, double factor = 1)
    {
        if (!SameLayout(a, b)) return null;
        var counts = new double[a.Counts.Length];
        for (var i = 0; i < counts.Length; i++) counts[i] = a.Counts[i] + factor * (i < b.Counts.Length ? b.Counts[i] : 0);
        return new FloatHistogram(a.Schema, a.Count + factor * b.Count, a.Sum + factor * b.Sum, a.Bounds, counts);
    }

    public static FloatHistogram Scale(FloatHistogram a, double f)
    {
        var counts = new double[a.Counts.Length];
        for (var i = 0; i < counts.Length; i++) counts[i] = a.Counts[i] * f;
        return new FloatHistogram(a.Schema, a.Count * f, a.Sum * f, a.Bounds, counts);
    }

    /// <summary>True when <paramref name="cur"/> cannot follow <paramref name="prev"/> in a counter histogram.</summary>
    public static bool DetectReset(FloatHistogram prev, FloatHistogram cur)
    {
        if (cur.Count < prev.Count) return true;
        if (!SameLayout(prev, cur)) return true;
        for (var i = 0; i < cur.Counts.Length && i < prev.Counts.Length; i++) if (cur.Counts[i] < prev.Counts[i]) return true;
        return false;
    }

    public static bool Equal(FloatHistogram a, FloatHistogram b)
    {
        if (a.Count != b.Count || a.Sum != b.Sum || !SameLayout(a, b) || a.Counts.Length != b.Counts.Length) return false;
        for (var i = 0; i < a.Counts.Length; i++) if (a.Counts[i] != b.Counts[i]) return false;
        return true;
    }

    private static (double Lower, double Upper) BucketBounds(FloatHistogram h, int i) =>
        (i == 0 ? double.NegativeInfinity : h.Bounds[i - 1], i < h.Bounds.Length ? h.Bounds[i] : double.PositiveInfinity);

    /// <summary>Quantile estimate: linear interpolation inside the bucket holding the rank; empty buckets are skipped.</summary>
    public static double Quantile(double q, FloatHistogram h)
    {
        if (q < 0) return double.NegativeInfinity;
        if (q > 1) return double.PositiveInfinity;
        if (h.Count == 0 || double.IsNaN(q)) return double.NaN;
        var rank = q * h.Count;
        double count = 0, lower = 0, upper = 0, bc = 0;
        var found = false;
        for (var i = 0; i < h.Counts.Length; i++)
        {
            var c = h.Counts[i];
            if (c == 0) continue;
            (lower, upper) = BucketBounds(h, i);
            bc = c;
            count += c;
            found = true;
            if (count >= rank) break;
        }
        if (!found) return double.NaN;
        if (double.IsNegativeInfinity(lower))
        {
            if (upper <= 0) return upper;
            lower = 0;
        }
        else if (double.IsPositiveInfinity(upper)) return lower;
        if (count > h.Count) count = h.Count;
        if (count < rank) return upper;
        rank -= count - bc;
        return lower + (upper - lower) * (rank / bc);
    }

    /// <summary>Cumulative classic buckets equivalent to a custom-bucket histogram.</summary>
    public static List<(double Upper, double Count)> Cumulative(FloatHistogram h)
    {
        var res = new List<(double, double)>(h.Counts.Length);
        double cum = 0;
        for (var i = 0; i < h.Counts.Length; i++)
        {
            cum += h.Counts[i];
            res.Add((i < h.Bounds.Length ? h.Bounds[i] : double.PositiveInfinity, cum));
        }
        return res;
    }

    /// <summary>Variance estimate placing each bucket's observations at its midpoint.</summary>
    public static double Variance(FloatHistogram h)
    {
        if (h.Count == 0) return double.NaN;
        var mean = h.Sum / h.Count;
        double v = 0, c = 0;
        for (var i = 0; i < h.Counts.Length; i++)
        {
            var n = h.Counts[i];
            if (n == 0) continue;
            var (lo, hi) = BucketBounds(h, i);
            var mid = (lo + hi) / 2;
            var d = mid - mean;
            (v, c) = MathUtil.KahanInc(n * d * d, v, c);
        }
        return (v + c) / h.Count;
    }
}
