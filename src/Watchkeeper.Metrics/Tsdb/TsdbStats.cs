namespace Watchkeeper.Metrics.Tsdb;

/// <summary>One exported self metric: a Prometheus name, help text, counter or gauge, and its value.</summary>
public readonly record struct TsdbMetric(string Name, string Help, bool Counter, double Value);

/// <summary>Counters and gauges of a <see cref="Tsdb"/>, safe to read from any thread; export them as self metrics.</summary>
public sealed class TsdbStats
{
    internal long _samplesAppended;
    internal long _outOfOrder;
    internal long _duplicates;
    internal long _tooOld;
    internal long _tooFarInFuture;
    internal long _tooFarInPast;
    internal long _labelLimit;
    internal long _seriesLimit;
    internal long _replayFutureDropped;
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
    internal long _counterChunksSummarized;
    internal long _headMinT = long.MaxValue;
    internal long _headMaxT = long.MinValue;

    /// <summary>Samples accepted into the head (including WAL replay).</summary>
    public long SamplesAppended => Volatile.Read(ref _samplesAppended);
    public long OutOfOrderRejected => Volatile.Read(ref _outOfOrder);
    public long DuplicateRejected => Volatile.Read(ref _duplicates);
    /// <summary>Samples older than the head's lower bound (already persisted range).</summary>
    public long TooOldRejected => Volatile.Read(ref _tooOld);
    /// <summary>Samples later than now plus the future grace period.</summary>
    public long TooFarInFutureRejected => Volatile.Read(ref _tooFarInFuture);
    /// <summary>Samples earlier than now minus the past grace period.</summary>
    public long TooFarInPastRejected => Volatile.Read(ref _tooFarInPast);
    /// <summary>Samples refused because their new series broke a per-series label limit.</summary>
    public long LabelLimitRejected => Volatile.Read(ref _labelLimit);
    /// <summary>Samples refused because their new series would exceed the head series limit.</summary>
    public long SeriesLimitRejected => Volatile.Read(ref _seriesLimit);
    /// <summary>Samples beyond the future bound found in the WAL on open and dropped.</summary>
    public long ReplayFutureDropped => Volatile.Read(ref _replayFutureDropped);
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
    /// <summary>Head chunks that counter-window queries (instant rate/increase) took from their summary without decoding.</summary>
    public long CounterChunksSummarized => Volatile.Read(ref _counterChunksSummarized);
    /// <summary>Lowest timestamp the head accepts (ms).</summary>
    public long HeadMinValidTime => Volatile.Read(ref _headMinT);
    public long HeadMaxTime => Volatile.Read(ref _headMaxT);

    /// <summary>All values with Prometheus metric names, ready for the server's <c>/metrics</c>.</summary>
    public IReadOnlyList<TsdbMetric> Export() =>
    [
        new("watchkeeper_tsdb_head_samples_appended_total", "Samples appended to the head, including WAL replay.", true, SamplesAppended),
        new("watchkeeper_tsdb_out_of_order_samples_total", "Samples rejected as out of order.", true, OutOfOrderRejected),
        new("watchkeeper_tsdb_duplicate_samples_total", "Samples rejected for a timestamp the series already has.", true, DuplicateRejected),
        new("watchkeeper_tsdb_too_old_samples_total", "Samples rejected as older than the head accepts.", true, TooOldRejected),
        new("watchkeeper_tsdb_too_far_in_future_samples_total", "Samples rejected as later than now plus the future grace period.", true, TooFarInFutureRejected),
        new("watchkeeper_tsdb_too_far_in_past_samples_total", "Samples rejected as earlier than now minus the past grace period.", true, TooFarInPastRejected),
        new("watchkeeper_tsdb_label_limit_samples_total", "Samples rejected because their new series broke a per-series label limit.", true, LabelLimitRejected),
        new("watchkeeper_tsdb_head_series_limit_samples_total", "Samples rejected because their new series would exceed the head series limit.", true, SeriesLimitRejected),
        new("watchkeeper_tsdb_wal_replay_future_dropped_samples_total", "Samples later than the future bound dropped during WAL replay.", true, ReplayFutureDropped),
        new("watchkeeper_tsdb_head_series_created_total", "Series created in the head.", true, SeriesCreated),
        new("watchkeeper_tsdb_head_series_removed_total", "Series removed from the head after a block cut.", true, SeriesRemoved),
        new("watchkeeper_tsdb_head_series", "Series in the head.", false, HeadSeries),
        new("watchkeeper_tsdb_head_chunks", "Chunks in the head.", false, HeadChunks),
        new("watchkeeper_tsdb_head_min_valid_time_ms", "Lowest timestamp the head accepts (ms).", false, HeadMinValidTime == long.MaxValue || HeadMinValidTime == long.MinValue ? 0 : HeadMinValidTime),
        new("watchkeeper_tsdb_head_max_time_ms", "Highest timestamp in the head (ms).", false, HeadMaxTime == long.MinValue ? 0 : HeadMaxTime),
        new("watchkeeper_tsdb_wal_written_bytes_total", "Bytes written to the WAL.", true, WalBytesWritten),
        new("watchkeeper_tsdb_wal_commits_total", "Commits written to the WAL.", true, WalCommits),
        new("watchkeeper_tsdb_wal_fsyncs_total", "WAL fsyncs.", true, WalFsyncs),
        new("watchkeeper_tsdb_wal_repairs_total", "Torn or corrupt WAL tails cut on open.", true, WalRepairs),
        new("watchkeeper_tsdb_wal_replayed_samples_total", "Samples replayed from the WAL on open.", true, WalReplayedSamples),
        new("watchkeeper_tsdb_checkpoints_total", "WAL checkpoints written.", true, Checkpoints),
        new("watchkeeper_tsdb_head_cuts_total", "Blocks cut from the head.", true, HeadCuts),
        new("watchkeeper_tsdb_compactions_total", "Block compactions.", true, Compactions),
        new("watchkeeper_tsdb_retention_deleted_blocks_total", "Blocks deleted by time or size retention.", true, RetentionDeletions),
        new("watchkeeper_tsdb_blocks", "Blocks on disk.", false, Blocks),
        new("watchkeeper_tsdb_block_bytes", "Bytes of blocks on disk.", false, BlockBytes),
    ];
}
