using Watchkeeper.Metrics.Model;

namespace Watchkeeper.Metrics.PromQL;

/// <summary>Numeric helpers shared by functions and aggregations.</summary>
internal static class MathUtil
{
    /// <summary>Compensated (Neumaier) summation step: returns the new sum and compensation.</summary>
    public static (double Sum, double C) KahanInc(double inc, double sum, double c)
    {
        var t = sum + inc;
        if (double.IsInfinity(t)) c = 0;
        else if (Math.Abs(sum) >= Math.Abs(inc)) c += (sum - t) + inc;
        else c += (inc - t) + sum;
        return (t, c);
    }

    /// <summary>Quantile with linear interpolation between closest ranks; sorts <paramref name="values"/> in place.</summary>
    public static double Quantile(double q, Span<double> values)
    {
        if (values.Length == 0 || double.IsNaN(q)) return double.NaN;
        if (q < 0) return double.NegativeInfinity;
        if (q > 1) return double.PositiveInfinity;
        values.Sort();
        var n = values.Length;
        var rank = q * (n - 1);
        var lower = Math.Max(0, (int)Math.Floor(rank));
        var upper = Math.Min(n - 1, lower + 1);
        var weight = rank - Math.Floor(rank);
        return values[lower] * (1 - weight) + values[upper] * weight;
    }

    /// <summary>Least-squares fit of value over time (seconds relative to <paramref name="interceptTime"/>).</summary>
    public static (double Slope, double Intercept) LinearRegression(ReadOnlySpan<Sample> samples, long interceptTime)
    {
        double n = 0, sumX = 0, cX = 0, sumY = 0, cY = 0, sumXY = 0, cXY = 0, sumX2 = 0, cX2 = 0;
        var initY = samples[0].V;
        var constY = true;
        for (var i = 0; i < samples.Length; i++)
        {
            var s = samples[i];
            if (constY && i > 0 && s.V != initY) constY = false;
            n += 1;
            var x = (s.T - interceptTime) / 1e3;
            (sumX, cX) = KahanInc(x, sumX, cX);
            (sumY, cY) = KahanInc(s.V, sumY, cY);
            (sumXY, cXY) = KahanInc(x * s.V, sumXY, cXY);
            (sumX2, cX2) = KahanInc(x * x, sumX2, cX2);
        }
        if (constY)
        {
            if (double.IsInfinity(initY)) return (double.NaN, double.NaN);
            return (0, initY);
        }
        sumX += cX; sumY += cY; sumXY += cXY; sumX2 += cX2;
        var covXY = sumXY - sumX * sumY / n;
        var varX = sumX2 - sumX * sumX / n;
        var slope = covXY / varX;
        var intercept = sumY / n - slope * sumX / n;
        return (slope, intercept);
    }

    /// <summary>Running mean that sums while it can and switches to an incremental mean on overflow.</summary>
    public struct MeanAccumulator
    {
        private double _sum, _c, _mean, _count;
        private bool _incremental;

        public void Add(double v)
        {
            _count++;
            if (_count == 1) { _sum = v; _mean = v; _c = 0; return; }
            if (!_incremental)
            {
                var (ns, nc) = KahanInc(v, _sum, _c);
                if (!double.IsInfinity(ns)) { _sum = ns; _c = nc; return; }
                _incremental = true;
                _mean = _sum / (_count - 1);
                _c /= _count - 1;
            }
            if (double.IsInfinity(_mean))
            {
                if (double.IsInfinity(v) && (_mean > 0) == (v > 0)) return;
                if (!double.IsInfinity(v) && !double.IsNaN(v)) return;
            }
            var current = _mean + _c;
            (_mean, _c) = KahanInc(v / _count - current / _count, _mean, _c);
        }

        public readonly double Count => _count;
        public readonly double Result => _incremental ? _mean + _c : (_sum + _c) / _count;
    }

    /// <summary>Welford variance with compensated sums.</summary>
    public struct VarianceAccumulator
    {
        private double _count, _mean, _cMean, _aux, _cAux;

        public void Add(double v)
        {
            _count++;
            var delta = v - (_mean + _cMean);
            (_mean, _cMean) = KahanInc(delta / _count, _mean, _cMean);
            (_aux, _cAux) = KahanInc(delta * (v - (_mean + _cMean)), _aux, _cAux);
        }

        public readonly double Variance => (_aux + _cAux) / _count;
    }
}
