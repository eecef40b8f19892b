namespace Watchkeeper.Metrics.Model;

/// <summary>
/// A float native histogram. Only custom-bucket histograms (NHCB, <see cref="CustomBucketsSchema"/>) carry
/// buckets here: bucket i counts observations in (Bounds[i-1], Bounds[i]], the first bucket starts at -Inf
/// and the last one, past the last bound, ends at +Inf. Exponential histograms keep only count and sum.
/// </summary>
public sealed class FloatHistogram
{
    public const int CustomBucketsSchema = -53;

    public FloatHistogram(int schema, double count, double sum, double[] bounds, double[] counts)
    {
        Schema = schema;
        Count = count;
        Sum = sum;
        Bounds = bounds;
        Counts = counts;
    }

    public int Schema { get; }
    public double Count { get; }
    public double Sum { get; }
    /// <summary>Finite upper bounds, ascending.</summary>
    public double[] Bounds { get; }
    /// <summary>Non-cumulative bucket counts, Bounds.Length + 1 of them for custom buckets.</summary>
    public double[] Counts { get; }
    public bool UsesCustomBuckets => Schema == CustomBucketsSchema;

    public override string ToString() =>
        $"{{{{schema:{Schema} count:{Count} sum:{Sum}" + (UsesCustomBuckets ? $" custom_values:[{string.Join(" ", Bounds)}] buckets:[{string.Join(" ", Counts)}]" : "") + "}}";
}

/// <summary>A histogram sample at a Unix-millisecond timestamp.</summary>
public readonly record struct HistogramSample(long T, FloatHistogram H);

/// <summary>One series' histogram samples in a queried range, in timestamp order.</summary>
public sealed record HistogramSeriesSamples(Labels Labels, IReadOnlyList<HistogramSample> Samples);

/// <summary>
/// Optional read side for native histograms. A querier that also implements this lets the PromQL engine see
/// histogram samples; series may hold floats and histograms at different timestamps.
/// </summary>
public interface IHistogramQuerier
{
    IEnumerable<HistogramSeriesSamples> SelectHistograms(long minT, long maxT, IReadOnlyList<LabelMatcher> matchers);
}
