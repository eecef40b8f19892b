namespace Watchkeeper.Metrics.Tsdb;

/// <summary>When the WAL is fsynced. Every commit is always written to the OS (survives a process kill).</summary>
public enum WalSyncMode
{
    /// <summary>fsync at most every <see cref="TsdbOptions.WalSyncInterval"/> (and on maintenance and dispose).</summary>
    Periodic,

    /// <summary>fsync on every commit (survives power loss; slow).</summary>
    Always,

    /// <summary>Never fsync explicitly except on dispose; leave it to the OS.</summary>
    Never,
}

public sealed class TsdbOptions
{
    /// <summary>Data directory; holds <c>wal/</c> and <c>blocks/</c>.</summary>
    public required string Directory { get; init; }

    /// <summary>Blocks whose newest sample is older than now minus this are deleted. Zero disables time retention.</summary>
    public TimeSpan Retention { get; init; } = TimeSpan.FromDays(15);

    /// <summary>When blocks together exceed this many bytes, the oldest are deleted. Zero disables size retention.</summary>
    public long MaxBytes { get; init; }

    /// <summary>Width of a block cut from the head; the head keeps about 1.5 of these.</summary>
    public TimeSpan BlockDuration { get; init; } = TimeSpan.FromHours(2);

    /// <summary>Block widths compaction builds, each a multiple of the previous. Default: 3x, 9x and 27x the block duration.</summary>
    public IReadOnlyList<TimeSpan>? CompactionRanges { get; init; }

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Receives warnings (WAL repairs, unreadable blocks). Optional.</summary>
    public Action<string>? OnWarning { get; init; }

    public WalSyncMode WalSync { get; init; } = WalSyncMode.Periodic;
    public TimeSpan WalSyncInterval { get; init; } = TimeSpan.FromSeconds(5);
    public long WalSegmentBytes { get; init; } = 32L << 20;

    /// <summary>Do not take the exclusive lock on <c>Directory/lock</c> (only for tests that simulate a crash in-process).</summary>
    public bool SkipDirectoryLock { get; init; }

    /// <summary>
    /// Samples later than now plus this are refused on every append (<see cref="Model.AppendResult.TooFarInFuture"/>) and
    /// dropped from the WAL on replay: one stray far-future sample would otherwise move the head's cut, and with it the
    /// lowest timestamp the head accepts, past the present. Mimir's <c>creation_grace_period</c>; default 10 minutes.
    /// </summary>
    public TimeSpan FutureGracePeriod { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Samples earlier than now minus this are refused (<see cref="Model.AppendResult.TooFarInPast"/>). Null (the default)
    /// uses <see cref="Retention"/>: anything older would be deleted by the next retention pass anyway. Zero: no bound
    /// other than the head's (samples before the newest block are always refused as too old).
    /// </summary>
    public TimeSpan? PastGracePeriod { get; init; }

    /// <summary>Per-series label limits and the head series limit, checked when a series is created.</summary>
    public Model.IngestLimits Limits { get; init; } = Model.IngestLimits.Default;

    /// <summary>Samples per head chunk before a new one starts.</summary>
    public int SamplesPerChunk { get; init; } = 120;
}
