namespace Watchkeeper.Metrics.Tsdb;

/// <summary>Counters and gauges of a <see cref="Tsdb"/>, safe to read from any thread; export them as self metrics.</summary>
public sealed class TsdbStats
{
    internal long _samplesAppended;
    internal long _outOfOrder;
    internal long _duplicates;
    internal long _tooOld;
    internal long _seriesCreated;
    internal long _seriesRemoved;
    internal long _headSeries;
    internal long _headChunks;
    internal long _walBytesWritten;
    internal long _walCommits;
    internal long _walFsyncs;
    internal long _walRepairs;
    internal long _walReplayedSamples;
    internal long _checkpoints;
    internal long _headCuts;
    internal long _compactions;
    internal long _retentionDeletions;
    internal long _blocks;
    internal long _blockBytes;
    internal long _headMinT = long.MaxValue;
    internal long _headMaxT = long.MinValue;

    /// <summary>Samples accepted into the head (including WAL replay).</summary>
    public long SamplesAppended => Volatile.Read(ref _samplesAppended);
    public long OutOfOrderRejected => Volatile.Read(ref _outOfOrder);
    public long DuplicateRejected => Volatile.Read(ref _duplicates);
    /// <summary>Samples older than the head's lower bound (already persisted range).</summary>
    public long TooOldRejected => Volatile.Read(ref _tooOld);
    public long SeriesCreated => Volatile.Read(ref _seriesCreated);
    public long SeriesRemoved => Volatile.Read(ref _seriesRemoved);
    public long HeadSeries => Volatile.Read(ref _headSeries);
    public long HeadChunks => Volatile.Read(ref _headChunks);
    public long WalBytesWritten => Volatile.Read(ref _walBytesWritten);
    public long WalCommits => Volatile.Read(ref _walCommits);
    public long WalFsyncs => Volatile.Read(ref _walFsyncs);
    /// <summary>Torn or corrupt WAL tails cut on open.</summary>
    public long WalRepairs => Volatile.Read(ref _walRepairs);
    public long WalReplayedSamples => Volatile.Read(ref _walReplayedSamples);
    public long Checkpoints => Volatile.Read(ref _checkpoints);
    public long HeadCuts => Volatile.Read(ref _headCuts);
    public long Compactions => Volatile.Read(ref _compactions);
    public long RetentionDeletions => Volatile.Read(ref _retentionDeletions);
    public long Blocks => Volatile.Read(ref _blocks);
    public long BlockBytes => Volatile.Read(ref _blockBytes);
    /// <summary>Lowest timestamp the head accepts (ms).</summary>
    public long HeadMinValidTime => Volatile.Read(ref _headMinT);
    public long HeadMaxTime => Volatile.Read(ref _headMaxT);
}
