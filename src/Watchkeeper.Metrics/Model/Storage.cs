namespace Watchkeeper.Metrics.Model;

/// <summary>A float sample. Timestamps are milliseconds since the Unix epoch.</summary>
public readonly record struct Sample(long T, double V);

/// <summary>The special NaN bit pattern Prometheus writes as a staleness marker.</summary>
public static class StaleNaN
{
    public const ulong Bits = 0x7ff0000000000002UL;
    public static readonly double Value = BitConverter.UInt64BitsToDouble(Bits);
    public static bool Is(double v) => BitConverter.DoubleToUInt64Bits(v) == Bits;
}

/// <summary>One series and its samples in a queried time range, in timestamp order.</summary>
public sealed record SeriesSamples(Labels Labels, IReadOnlyList<Sample> Samples);

/// <summary>Read side of a time-series store, as the PromQL engine and the HTTP API need it.</summary>
public interface ISeriesQuerier
{
    /// <summary>All series matching every matcher, with their samples in [minT, maxT] (inclusive, ms).</summary>
    IEnumerable<SeriesSamples> Select(long minT, long maxT, IReadOnlyList<LabelMatcher> matchers);

    /// <summary>Label names in use by series with samples in range (all series when matchers is empty), sorted.</summary>
    IReadOnlyList<string> LabelNames(long minT, long maxT, IReadOnlyList<LabelMatcher> matchers);

    /// <summary>Values of one label across matching series, sorted.</summary>
    IReadOnlyList<string> LabelValues(string name, long minT, long maxT, IReadOnlyList<LabelMatcher> matchers);
}

/// <summary>Receives one series of a streamed select; <paramref name="samples"/> is only valid during the call.</summary>
public delegate void SeriesVisitor(Labels labels, ReadOnlySpan<Sample> samples);

/// <summary>
/// A querier that hands out matching series one at a time, so a query over many series never holds all their
/// samples at once (the PromQL engine uses it for range functions over a selector).
/// </summary>
public interface IStreamingSeriesQuerier : ISeriesQuerier
{
    /// <summary>Calls <paramref name="visit"/> for every series matching all matchers that has samples in [minT, maxT], in label order.</summary>
    void SelectEach(long minT, long maxT, IReadOnlyList<LabelMatcher> matchers, SeriesVisitor visit);
}

/// <summary>Outcome of appending one sample.</summary>
public enum AppendResult { Ok, OutOfOrder, Duplicate, TooOld }

/// <summary>Write side of a time-series store. An appender batches samples until Commit.</summary>
public interface ISeriesAppender
{
    AppendResult Append(Labels labels, long t, double v);
    void Commit();
    void Rollback();
}

public interface ISeriesStore : ISeriesQuerier
{
    ISeriesAppender Appender();
}
