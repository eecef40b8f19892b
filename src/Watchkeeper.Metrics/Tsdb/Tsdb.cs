using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.InteropServices;
using Watchkeeper.Metrics.Model;

namespace Watchkeeper.Metrics.Tsdb;

/// <summary>
/// The embedded time-series database: an in-memory head (compressed chunks, inverted index) made durable by a
/// write-ahead log, plus immutable on-disk blocks cut from the head, compacted and deleted by retention.
/// Thread-safe: many appenders and queriers may run at once. Call <see cref="RunMaintenance"/> periodically
/// (e.g. every minute) to cut blocks, compact and apply retention.
/// </summary>
public sealed partial class Tsdb : ISeriesStore, IStreamingSeriesQuerier, IDisposable
{
    private readonly TsdbOptions _options;
    private readonly string _blocksDir;
    private readonly string _walDir;
    private readonly long _blockMs;
    private readonly long[] _compactionRanges;
    private readonly int _samplesPerChunk;
    private readonly Action<string> _warn;
    private readonly TimeProvider _time;
    // Accepted window around now (ms): later than now + _futureMs or (when _pastMs > 0) earlier than now - _pastMs is refused.
    private readonly long _futureMs;
    private readonly long _pastMs;
    private readonly IngestLimits _limits;

    // Read: commits and queries. Write: swapping the block list with head chunks (cut, compaction, retention).
    private readonly ReaderWriterLockSlim _state = new(LockRecursionPolicy.NoRecursion);
    private readonly Lock _walLock = new();
    private readonly Lock _indexLock = new();
    private readonly Lock _maintenanceLock = new();

    private readonly ConcurrentDictionary<Labels, MemSeries> _byLabels = new();
    private readonly Dictionary<ulong, MemSeries> _byRef = [];
    private readonly PostingsIndex _index = new();
    private readonly Dictionary<ulong, ulong> _refAliases = [];
    private readonly ByteBuffer _walBuf = new(4096);
    private readonly List<MemSeries> _newlyLogged = [];

    private List<Block> _blocks = [];
    // Closed head chunks live in files, not on the managed heap (set in Load, before the WAL replay).
    private HeadChunkFile? _headChunks;
    private FileStream? _lockFile;
    private Wal? _wal;
    private ulong _lastRef;
    private long _minValidT = long.MinValue;
    private long _headMaxT = long.MinValue;
    // Lowest timestamp of any chunk in the head; lowered by commits (under the WAL lock), recomputed at each cut.
    private long _headMinT = long.MaxValue;
    private volatile bool _disposed;
    private long _replayUnknownRefs;
    private long _replayMaxT;

    private Tsdb(TsdbOptions options)
    {
        _options = options;
        _blocksDir = Path.Combine(options.Directory, "blocks");
        _walDir = Path.Combine(options.Directory, "wal");
        _blockMs = (long)options.BlockDuration.TotalMilliseconds;
        _samplesPerChunk = Math.Clamp(options.SamplesPerChunk, 2, ushort.MaxValue);
        _time = options.TimeProvider;
        _futureMs = Math.Max(0, TimeMath.Millis(options.FutureGracePeriod));
        _pastMs = Math.Max(0, TimeMath.Millis(options.PastGracePeriod ?? options.Retention));
        _limits = options.Limits ?? IngestLimits.Default;
        var warn = options.OnWarning;
        _warn = m => warn?.Invoke("tsdb: " + m);
        var ranges = options.CompactionRanges ?? [options.BlockDuration * 3, options.BlockDuration * 9, options.BlockDuration * 27];
        _compactionRanges = new long[ranges.Count];
        for (var i = 0; i < ranges.Count; i++) _compactionRanges[i] = (long)ranges[i].TotalMilliseconds;
        Array.Sort(_compactionRanges);
    }

    public TsdbStats Stats { get; } = new();

    /// <summary>Opens (or creates) the database in <see cref="TsdbOptions.Directory"/>, loading blocks and replaying the WAL.</summary>
    public static Tsdb Open(TsdbOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(options.Directory);
        if (options.BlockDuration < TimeSpan.FromMilliseconds(1)) throw new ArgumentOutOfRangeException(nameof(options), "BlockDuration must be positive");
        var db = new Tsdb(options);
        try
        {
            db.Load();
        }
        catch
        {
            db.Dispose();
            throw;
        }
        return db;
    }

    /// <summary>Metadata of the on-disk blocks, oldest first.</summary>
    public IReadOnlyList<BlockMeta> Blocks
    {
        get
        {
            var blocks = Volatile.Read(ref _blocks);
            var res = new BlockMeta[blocks.Count];
            for (var i = 0; i < res.Length; i++) res[i] = blocks[i].Meta;
            return res;
        }
    }

    /// <summary>The latest timestamp an append may have now (ms): now plus the future grace period.</summary>
    private long MaxValidTime() => TimeMath.AddSaturating(_time.GetUtcNow().ToUnixTimeMilliseconds(), _futureMs);

    /// <summary>The earliest timestamp an append may have now by the past grace period (ms).</summary>
    private long MinGraceTime() => _pastMs > 0 ? TimeMath.AddSaturating(_time.GetUtcNow().ToUnixTimeMilliseconds(), -_pastMs) : long.MinValue;

    public ISeriesAppender Appender()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return new HeadAppender(this);
    }

    // ---------------------------------------------------------------- open and replay

    private void Load()
    {
        Directory.CreateDirectory(_blocksDir);
        if (!_options.SkipDirectoryLock)
        {
            try
            {
                _lockFile = new FileStream(Path.Combine(_options.Directory, "lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException e)
            {
                throw new IOException($"TSDB directory {_options.Directory} is in use by another process", e);
            }
        }
        _headChunks = new HeadChunkFile(Path.Combine(_options.Directory, "chunks_head"), _blockMs, _warn);
        foreach (var dir in Directory.GetDirectories(_blocksDir))
        {
            var name = Path.GetFileName(dir);
            if (name.EndsWith(".tmp", StringComparison.Ordinal) || name.EndsWith(".deleting", StringComparison.Ordinal))
                Directory.Delete(dir, recursive: true);
        }

        var metas = new List<(string Dir, BlockMeta Meta)>();
        foreach (var dir in Directory.GetDirectories(_blocksDir))
        {
            try
            {
                metas.Add((dir, Block.ReadMeta(dir)));
            }
            catch (Exception e) when (e is IOException or InvalidDataException or System.Text.Json.JsonException)
            {
                _warn($"block {dir} has an unreadable meta.json and is ignored: {e.Message}");
            }
        }
        // A crash between writing a compacted block and deleting its sources leaves both: the sources go.
        var superseded = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (_, m) in metas)
        {
            foreach (var s in m.Sources)
            {
                if (s != m.Id) superseded.Add(s);
            }
        }
        var blocks = new List<Block>();
        foreach (var (dir, meta) in metas)
        {
            if (superseded.Contains(meta.Id))
            {
                _warn($"block {meta.Id} was already compacted into another block; deleting it");
                DeleteBlockDir(dir);
                continue;
            }
            try
            {
                blocks.Add(Block.Open(dir, new StringInterner()));
            }
            catch (Exception e) when (e is IOException or InvalidDataException)
            {
                _warn($"block {dir} is unreadable and is ignored: {e.Message}");
            }
        }
        blocks.Sort(static (a, b) => a.Meta.MinT.CompareTo(b.Meta.MinT));
        _blocks = blocks;
        foreach (var b in blocks) _minValidT = Math.Max(_minValidT, b.Meta.MaxT);
        RefreshBlockStats();

        var replayRefs = new Dictionary<ulong, MemSeries>();
        _replayMaxT = MaxValidTime();
        _wal = Wal.Open(_walDir, _options, _warn, Stats, (type, payload) => ReplayRecord(type, payload, replayRefs));
        if (_replayUnknownRefs > 0) _warn($"WAL replay skipped {_replayUnknownRefs} samples of series without a series record");
        if (Stats._replayFutureDropped > 0)
            _warn($"WAL replay dropped {Stats._replayFutureDropped} samples later than now plus the future grace period ({_options.FutureGracePeriod})");
        Volatile.Write(ref Stats._headMinT, _minValidT);
    }

    /// <summary>fsyncs the WAL and closes files. Data not yet in blocks is replayed from the WAL on the next open.</summary>
    public void Dispose()
    {
        lock (_maintenanceLock)
        {
            _state.EnterWriteLock();
            try
            {
                if (_disposed) return;
                _disposed = true;
                lock (_walLock) _wal?.Dispose();
                _headChunks?.Dispose();
                foreach (var b in _blocks) b.Dispose();
                _lockFile?.Dispose();
            }
            finally
            {
                _state.ExitWriteLock();
            }
        }
    }
}
