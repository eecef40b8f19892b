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
public enum AppendResult
{
    Ok,
    OutOfOrder,
    Duplicate,

    /// <summary>Older than the head accepts (the range already persisted in blocks).</summary>
    TooOld,

    /// <summary>Later than now plus the store's future grace period.</summary>
    TooFarInFuture,

    /// <summary>Earlier than now minus the store's past grace period.</summary>
    TooFarInPast,

    /// <summary>The sample would create a series that breaks a per-series label limit (<see cref="IngestLimits"/>).</summary>
    LabelLimit,

    /// <summary>The sample would create a series beyond the store's head series limit.</summary>
    SeriesLimit,
}

/// <summary>Messages for refused appends, as remote write and scrape errors show them.</summary>
public static class AppendResults
{
    public static string Describe(AppendResult r) => r switch
    {
        AppendResult.Ok => "ok",
        AppendResult.OutOfOrder => "out of order sample",
        AppendResult.Duplicate => "duplicate sample for timestamp",
        AppendResult.TooOld => "sample too old (before the head's minimum valid time)",
        AppendResult.TooFarInFuture => "sample timestamp too far in the future",
        AppendResult.TooFarInPast => "sample timestamp too far in the past",
        AppendResult.LabelLimit => "series exceeds a label limit",
        AppendResult.SeriesLimit => "head series limit reached (max_head_series)",
        _ => r.ToString(),
    };
}

/// <summary>
/// A store's handle for one series, kept by a caller that appends to the same series again and again (a scrape loop
/// keeps one per scraped series) so the store can skip its lookup by labels. Opaque: <c>default</c> means "none yet",
/// and the store fills it in. A handle is only meaningful to the store that issued it and with the labels it was issued
/// for; a store given a handle it did not issue, or one for a series it has since dropped, looks the labels up again.
/// </summary>
public readonly struct SeriesRef(object owner, object handle) : IEquatable<SeriesRef>
{
    /// <summary>The store (or appender family) that issued the handle.</summary>
    public object? Owner { get; } = owner;

    /// <summary>The store's own object for the series.</summary>
    public object? Handle { get; } = handle;

    public bool Equals(SeriesRef other) => ReferenceEquals(Owner, other.Owner) && ReferenceEquals(Handle, other.Handle);
    public override bool Equals(object? obj) => obj is SeriesRef r && Equals(r);
    public override int GetHashCode() => HashCode.Combine(Owner, Handle);
    public static bool operator ==(SeriesRef a, SeriesRef b) => a.Equals(b);
    public static bool operator !=(SeriesRef a, SeriesRef b) => !a.Equals(b);
}

/// <summary>Write side of a time-series store. An appender batches samples until Commit.</summary>
public interface ISeriesAppender
{
    AppendResult Append(Labels labels, long t, double v);

    /// <summary>
    /// Appends like <see cref="Append(Labels, long, double)"/>, using and updating the caller's handle for the series
    /// (<paramref name="labels"/> must be the labels the handle was issued for). Stores without handles append by labels.
    /// </summary>
    AppendResult Append(ref SeriesRef series, Labels labels, long t, double v) => Append(labels, t, v);

    void Commit();
    void Rollback();
}

public interface ISeriesStore : ISeriesQuerier
{
    ISeriesAppender Appender();
}
