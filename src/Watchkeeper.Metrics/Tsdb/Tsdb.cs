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
public sealed class Tsdb : ISeriesStore, IStreamingSeriesQuerier, IDisposable
{
    private readonly TsdbOptions _options;
    private readonly string _blocksDir;
    private readonly string _walDir;
    private readonly long _blockMs;
    private readonly long[] _compactionRanges;
    private readonly int _samplesPerChunk;
    private readonly Action<string> _warn;
    private readonly TimeProvider _time;

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

    private Tsdb(TsdbOptions options)
    {
        _options = options;
        _blocksDir = Path.Combine(options.Directory, "blocks");
        _walDir = Path.Combine(options.Directory, "wal");
        _blockMs = (long)options.BlockDuration.TotalMilliseconds;
        _samplesPerChunk = Math.Clamp(options.SamplesPerChunk, 2, ushort.MaxValue);
        _time = options.TimeProvider;
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
        _wal = Wal.Open(_walDir, _options, _warn, Stats, (type, payload) => ReplayRecord(type, payload, replayRefs));
        if (_replayUnknownRefs > 0) _warn($"WAL replay skipped {_replayUnknownRefs} samples of series without a series record");
        Volatile.Write(ref Stats._headMinT, _minValidT);
    }

    private void ReplayRecord(byte type, ReadOnlySpan<byte> payload, Dictionary<ulong, MemSeries> refs)
    {
        if (type == Wal.RecordSeries)
        {
            WalCodec.ReadSeries(payload, null, (seriesRef, labels) =>
            {
                if (refs.ContainsKey(seriesRef)) return;
                if (_byLabels.TryGetValue(labels, out var existing))
                {
                    refs[seriesRef] = existing;
                    if (existing.Ref != seriesRef) _refAliases[seriesRef] = existing.Ref;
                    return;
                }
                var s = new MemSeries(seriesRef, labels, _headChunks) { Logged = true };
                AddSeriesLocked(s);
                refs[seriesRef] = s;
                if (seriesRef > _lastRef) _lastRef = seriesRef;
            });
            return;
        }
        WalCodec.ReadSamples(payload, (seriesRef, t, v) =>
        {
            if (!refs.TryGetValue(seriesRef, out var s))
            {
                _replayUnknownRefs++;
                return;
            }
            if (s.Append(t, v, _minValidT, _blockMs, _samplesPerChunk, out var created) != AppendResult.Ok) return;
            Stats._samplesAppended++;
            Stats._walReplayedSamples++;
            Stats._headChunks += created;
            if (t > _headMaxT) _headMaxT = t;
            if (t < _headMinT) _headMinT = t;
            if (t > Stats._headMaxT) Stats._headMaxT = t;
        });
    }

    // ---------------------------------------------------------------- head series

    private void AddSeriesLocked(MemSeries s)
    {
        _byLabels[s.Labels] = s;
        _byRef[s.Ref] = s;
        _index.Add(s.Ref, s.Labels);
        Interlocked.Increment(ref Stats._headSeries);
    }

    private MemSeries GetOrCreate(Labels labels)
    {
        if (_byLabels.TryGetValue(labels, out var s)) return s;
        lock (_indexLock)
        {
            if (_byLabels.TryGetValue(labels, out s)) return s;
            s = new MemSeries(++_lastRef, labels, _headChunks);
            AddSeriesLocked(s);
            Interlocked.Increment(ref Stats._seriesCreated);
            return s;
        }
    }

    private MemSeries[] HeadSeriesSnapshot()
    {
        lock (_indexLock)
        {
            var res = new MemSeries[_byRef.Count];
            _byRef.Values.CopyTo(res, 0);
            return res;
        }
    }

    private MemSeries[] HeadSelect(IReadOnlyList<LabelMatcher> matchers)
    {
        lock (_indexLock)
        {
            var ids = _index.Select(matchers);
            var res = new MemSeries[ids.Length];
            for (var i = 0; i < ids.Length; i++) res[i] = _byRef[ids[i]];
            return res;
        }
    }

    // ---------------------------------------------------------------- append

    private readonly record struct PendingSample(MemSeries Series, long T, double V);

    /// <summary>
    /// The batch of one appender between commits, and the per-series last timestamps when a series comes twice. Pooled
    /// by the TSDB: a scrape loop takes a new appender per scrape, and growing fresh collections to 10k+ entries each
    /// time put ~160 bytes per sample (mostly large-object-heap arrays, so gen-2 collections) on the GC.
    /// </summary>
    private sealed class AppendBuffers
    {
        public readonly List<PendingSample> Batch = [];
        public readonly Dictionary<MemSeries, long> Last = [];
        // Unique per batch (taken when the buffers are), written to each series' BatchStamp on its first sample.
        public int Stamp;
        // Set once a series came a second time: from then on Last holds every series' last timestamp in the batch.
        public bool Indexed;
    }

    private readonly ConcurrentBag<AppendBuffers> _appendPool = [];
    private int _batchStamps;

    private AppendBuffers RentAppendBuffers()
    {
        var buf = _appendPool.TryTake(out var pooled) ? pooled : new AppendBuffers();
        buf.Stamp = Interlocked.Increment(ref _batchStamps);
        return buf;
    }

    private sealed class HeadAppender(Tsdb db) : ISeriesAppender
    {
        private AppendBuffers? _buf;

        public AppendResult Append(Labels labels, long t, double v)
        {
            ArgumentNullException.ThrowIfNull(labels);
            ObjectDisposedException.ThrowIf(db._disposed, db);
            if (t < Volatile.Read(ref db._minValidT))
            {
                Interlocked.Increment(ref db.Stats._tooOld);
                return AppendResult.TooOld;
            }
            return AppendTo(db.GetOrCreate(labels), t, v);
        }

        public AppendResult Append(ref SeriesRef series, Labels labels, long t, double v)
        {
            ArgumentNullException.ThrowIfNull(labels);
            ObjectDisposedException.ThrowIf(db._disposed, db);
            if (t < Volatile.Read(ref db._minValidT))
            {
                Interlocked.Increment(ref db.Stats._tooOld);
                return AppendResult.TooOld;
            }
            // The handle is good while it is ours and its series is still in the head; a series garbage-collected from
            // the head (no samples for a while) is looked up, i.e. recreated, by labels.
            if (!ReferenceEquals(series.Owner, db) || series.Handle is not MemSeries s || s.Removed)
            {
                s = db.GetOrCreate(labels);
                series = new SeriesRef(db, s);
            }
            return AppendTo(s, t, v);
        }

        private AppendResult AppendTo(MemSeries s, long t, double v)
        {
            var buf = _buf ??= db.RentAppendBuffers();
            long last;
            if (!buf.Indexed && s.BatchStamp != buf.Stamp)
            {
                // First sample of the series in this batch (the common case: a scrape appends each series once).
                s.BatchStamp = buf.Stamp;
                last = s.MaxT;
                if (t > last)
                {
                    buf.Batch.Add(new PendingSample(s, t, v));
                    return AppendResult.Ok;
                }
                return Reject(t, last);
            }
            if (!buf.Indexed)
            {
                // A series came again: index the batch so far, then check every later sample against the index.
                foreach (ref readonly var p in CollectionsMarshal.AsSpan(buf.Batch)) buf.Last[p.Series] = p.T;
                buf.Indexed = true;
            }
            // One hash lookup: the entry is the series' last timestamp in this batch, or its head max time.
            ref var lastRef = ref CollectionsMarshal.GetValueRefOrAddDefault(buf.Last, s, out var inBatch);
            if (!inBatch) lastRef = s.MaxT;
            if (t <= lastRef) return Reject(t, lastRef);
            buf.Batch.Add(new PendingSample(s, t, v));
            lastRef = t;
            return AppendResult.Ok;
        }

        private AppendResult Reject(long t, long last)
        {
            if (t == last)
            {
                Interlocked.Increment(ref db.Stats._duplicates);
                return AppendResult.Duplicate;
            }
            Interlocked.Increment(ref db.Stats._outOfOrder);
            return AppendResult.OutOfOrder;
        }

        public void Commit()
        {
            try
            {
                if (_buf is not null) db.CommitBatch(_buf.Batch);
            }
            finally
            {
                Reset();
            }
        }

        public void Rollback() => Reset();

        private void Reset()
        {
            var buf = _buf;
            if (buf is null) return;
            _buf = null;
            buf.Batch.Clear();
            buf.Last.Clear();
            buf.Indexed = false;
            // Keep the pool's memory bounded: very large batches (a WAL replay, a bulk import) are not kept.
            if (buf.Batch.Capacity > 1 << 20) return;
            if (db._appendPool.Count < 64) db._appendPool.Add(buf);
        }
    }

    private void CommitBatch(List<PendingSample> batch)
    {
        if (batch.Count == 0) return;
        _state.EnterReadLock();
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var span = CollectionsMarshal.AsSpan(batch);
            for (var i = 0; i < span.Length; i++)
            {
                // The series was garbage-collected from the head between Append and Commit: recreate it.
                if (span[i].Series.Removed) span[i] = span[i] with { Series = GetOrCreate(span[i].Series.Labels) };
            }

            lock (_walLock)
            {
                var buf = _walBuf;
                buf.Clear();
                _newlyLogged.Clear();
                var start = -1;
                foreach (ref readonly var p in span)
                {
                    if (p.Series.Logged) continue;
                    if (start < 0) start = Wal.BeginRecord(buf, Wal.RecordSeries);
                    WalCodec.WriteSeriesEntry(buf, p.Series.Ref, p.Series.Labels);
                    p.Series.Logged = true;
                    _newlyLogged.Add(p.Series);
                }
                if (start >= 0) Wal.EndRecord(buf, start);
                start = Wal.BeginRecord(buf, Wal.RecordSamples);
                long prevT = 0;
                foreach (ref readonly var p in span) WalCodec.WriteSampleEntry(buf, p.Series.Ref, ref prevT, p.T, p.V);
                Wal.EndRecord(buf, start);
                try
                {
                    _wal!.Write(buf.Written);
                }
                catch
                {
                    foreach (var s in _newlyLogged) s.Logged = false;
                    throw;
                }
                finally
                {
                    if (buf.Length > 1 << 20) buf.Shrink(4096);
                }

                // Visible only now that the batch is in the WAL.
                long ok = 0, ooo = 0, dup = 0, old = 0, chunks = 0;
                var maxT = long.MinValue;
                var minT = long.MaxValue;
                var minValid = _minValidT;
                foreach (ref readonly var p in span)
                {
                    AppendResult r;
                    int created;
                    lock (p.Series.Sync) r = p.Series.Append(p.T, p.V, minValid, _blockMs, _samplesPerChunk, out created);
                    chunks += created;
                    switch (r)
                    {
                        case AppendResult.Ok:
                            ok++;
                            if (p.T > maxT) maxT = p.T;
                            if (p.T < minT) minT = p.T;
                            break;
                        case AppendResult.OutOfOrder: ooo++; break;
                        case AppendResult.Duplicate: dup++; break;
                        default: old++; break;
                    }
                }
                Interlocked.Add(ref Stats._samplesAppended, ok);
                if (ooo > 0) Interlocked.Add(ref Stats._outOfOrder, ooo);
                if (dup > 0) Interlocked.Add(ref Stats._duplicates, dup);
                if (old > 0) Interlocked.Add(ref Stats._tooOld, old);
                if (chunks > 0) Interlocked.Add(ref Stats._headChunks, chunks);
                if (minT < _headMinT) Volatile.Write(ref _headMinT, minT);
                if (maxT > _headMaxT)
                {
                    Volatile.Write(ref _headMaxT, maxT);
                    Volatile.Write(ref Stats._headMaxT, maxT);
                }
            }
        }
        finally
        {
            _state.ExitReadLock();
        }
    }

    // ---------------------------------------------------------------- query

    /// <summary>
    /// Every matching series with its samples in an exactly sized array, sorted by labels: <see cref="SelectEach"/>
    /// with each series copied out of its reused buffer.
    /// </summary>
    public IEnumerable<SeriesSamples> Select(long minT, long maxT, IReadOnlyList<LabelMatcher> matchers)
    {
        var result = new List<SeriesSamples>();
        SelectEach(minT, maxT, matchers, (labels, samples) => result.Add(new SeriesSamples(labels, samples.ToArray())));
        return result;
    }

    /// <summary>
    /// Streams matching series in label order. Under the state lock it only pins the blocks and the head chunk files
    /// and copies references to the head chunks in range (closed chunks are immutable; the open one is copied), so
    /// reading and decoding happen outside every lock, one series at a time into one reused buffer.
    /// </summary>
    public void SelectEach(long minT, long maxT, IReadOnlyList<LabelMatcher> matchers, SeriesVisitor visit)
    {
        ArgumentNullException.ThrowIfNull(matchers);
        ArgumentNullException.ThrowIfNull(visit);
        var head = new List<(Labels Labels, HeadChunk[] Chunks)>();
        var blocks = new List<Block>();
        var chunks = new List<HeadChunk>();
        var pinned = false;
        _state.EnterReadLock();
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            foreach (var b in _blocks)
            {
                if (b.Overlaps(minT, maxT) && b.TryAcquire()) blocks.Add(b);
            }
            // Closed head chunks are read from their files after the lock is released; the pin keeps a concurrent
            // head cut from deleting those files until this query is done with them.
            _headChunks!.Pin();
            pinned = true;
            foreach (var s in HeadSelect(matchers))
            {
                chunks.Clear();
                lock (s.Sync)
                {
                    if (s.Overlaps(minT, maxT)) s.ChunksInRange(minT, maxT, chunks);
                }
                if (chunks.Count > 0) head.Add((s.Labels, chunks.ToArray()));
            }
        }
        catch
        {
            foreach (var b in blocks) b.Release();
            if (pinned) _headChunks!.Unpin();
            throw;
        }
        finally
        {
            _state.ExitReadLock();
        }

        // The decode buffers of the thread's previous query, when it left them (small ones only are kept).
        var scratch = t_scratch ?? new List<Sample>();
        var chunkBuffer = t_chunkBuffer ?? new byte[512];
        t_scratch = null;
        t_chunkBuffer = null;
        void DecodeHead(HeadChunk[] cs)
        {
            foreach (var c in cs) ChunkDecoding.DecodeRange(_headChunks!.Read(c, ref chunkBuffer), minT, maxT, scratch);
        }
        try
        {
            head.Sort(static (a, b) => a.Labels.CompareTo(b.Labels));
            if (blocks.Count == 0)
            {
                foreach (var (labels, cs) in head)
                {
                    scratch.Clear();
                    DecodeHead(cs);
                    if (scratch.Count > 0) visit(labels, CollectionsMarshal.AsSpan(scratch));
                }
                return;
            }
            // Every source's series in label order; for equal labels, blocks (oldest first) before the head.
            var refs = new List<(Labels Labels, int Source, int Index)>();
            for (var bi = 0; bi < blocks.Count; bi++)
            {
                foreach (var id in blocks[bi].Select(matchers))
                {
                    var bs = blocks[bi].Series(id);
                    if (bs.Overlaps(minT, maxT)) refs.Add((bs.Labels, bi, (int)id));
                }
            }
            for (var hi = 0; hi < head.Count; hi++) refs.Add((head[hi].Labels, blocks.Count, hi));
            refs.Sort(static (a, b) =>
            {
                var c = a.Labels.CompareTo(b.Labels);
                return c != 0 ? c : a.Source.CompareTo(b.Source);
            });
            for (var i = 0; i < refs.Count;)
            {
                var labels = refs[i].Labels;
                scratch.Clear();
                for (; i < refs.Count && refs[i].Labels.Equals(labels); i++)
                {
                    var (_, src, idx) = refs[i];
                    if (src < blocks.Count) blocks[src].ReadRange(blocks[src].Series((ulong)idx), minT, maxT, scratch);
                    else DecodeHead(head[idx].Chunks);
                }
                if (scratch.Count > 0) visit(labels, CollectionsMarshal.AsSpan(scratch));
            }
        }
        finally
        {
            foreach (var b in blocks) b.Release();
            _headChunks!.Unpin();
            if (scratch.Capacity <= 1 << 16)
            {
                scratch.Clear();
                t_scratch = scratch;
            }
            if (chunkBuffer.Length <= 1 << 16) t_chunkBuffer = chunkBuffer;
        }
    }

    [ThreadStatic] private static List<Sample>? t_scratch;
    [ThreadStatic] private static byte[]? t_chunkBuffer;

    public IReadOnlyList<string> LabelNames(long minT, long maxT, IReadOnlyList<LabelMatcher> matchers)
    {
        var set = new HashSet<string>(StringComparer.Ordinal);
        ForEachSeries(minT, maxT, matchers, labels =>
        {
            foreach (var l in labels.AsSpan()) set.Add(l.Name);
        }, b => set.UnionWith(b.LabelNames));
        return Sorted(set);
    }

    public IReadOnlyList<string> LabelValues(string name, long minT, long maxT, IReadOnlyList<LabelMatcher> matchers)
    {
        ArgumentNullException.ThrowIfNull(name);
        var set = new HashSet<string>(StringComparer.Ordinal);
        ForEachSeries(minT, maxT, matchers, labels =>
        {
            var v = labels.Get(name);
            if (v is not null) set.Add(v);
        }, b => set.UnionWith(b.LabelValues(name)));
        return Sorted(set);
    }

    private static List<string> Sorted(HashSet<string> set)
    {
        var list = new List<string>(set);
        list.Sort(StringComparer.Ordinal);
        return list;
    }

    /// <param name="wholeBlock">Shortcut from a block's index when no matcher filters and the block lies inside the range.</param>
    private void ForEachSeries(long minT, long maxT, IReadOnlyList<LabelMatcher> matchers, Action<Labels> action, Action<Block> wholeBlock)
    {
        ArgumentNullException.ThrowIfNull(matchers);
        _state.EnterReadLock();
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            foreach (var b in _blocks)
            {
                if (!b.Overlaps(minT, maxT)) continue;
                if (matchers.Count == 0 && b.Within(minT, maxT))
                {
                    wholeBlock(b);
                    continue;
                }
                foreach (var id in b.Select(matchers))
                {
                    var s = b.Series(id);
                    if (s.Overlaps(minT, maxT)) action(s.Labels);
                }
            }
            foreach (var s in HeadSelect(matchers))
            {
                bool overlaps;
                lock (s.Sync) overlaps = s.Overlaps(minT, maxT);
                if (overlaps) action(s.Labels);
            }
        }
        finally
        {
            _state.ExitReadLock();
        }
    }

    // ---------------------------------------------------------------- maintenance

    /// <summary>
    /// Cuts blocks from the head while it spans more than 1.5 block durations (then checkpoints the WAL),
    /// compacts adjacent blocks, applies time and size retention, and fsyncs the WAL. Safe to call concurrently
    /// with appends and queries; concurrent calls run one after another.
    /// </summary>
    public void RunMaintenance()
    {
        lock (_maintenanceLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            for (var i = 0; i < 10_000 && TryCutHead(); i++)
            {
            }
            Compact();
            ApplyRetention();
            lock (_walLock)
            {
                if (!_disposed) _wal!.Sync();
            }
        }
    }

    private bool TryCutHead()
    {
        var headMin = Volatile.Read(ref _headMinT);
        var headMax = Volatile.Read(ref _headMaxT);
        if (headMin == long.MaxValue || headMax - headMin <= _blockMs + _blockMs / 2) return false;
        var start = TimeMath.AlignDown(headMin, _blockMs);
        var end = start + _blockMs;

        // Freeze: from here on the head refuses samples before `end`, so the chunks taken are final.
        var toWrite = new List<(Labels Labels, List<HeadChunk> Chunks)>();
        _state.EnterWriteLock();
        try
        {
            if (end > _minValidT) Volatile.Write(ref _minValidT, end);
            Volatile.Write(ref Stats._headMinT, _minValidT);
            foreach (var s in HeadSeriesSnapshot())
            {
                var list = new List<HeadChunk>();
                lock (s.Sync) s.CollectBefore(end, list);
                if (list.Count > 0) toWrite.Add((s.Labels, list));
            }
        }
        finally
        {
            _state.ExitWriteLock();
        }

        Block? block = null;
        if (toWrite.Count > 0)
        {
            toWrite.Sort(static (a, b) => a.Labels.CompareTo(b.Labels));
            using var w = new BlockWriter(_blocksDir, NewBlockId());
            // Chunk bytes are read from the head chunk files outside the lock: nothing writes to or deletes the files
            // of ranges before `end` until the second locked section below.
            var bytes = new List<ChunkData>();
            foreach (var (labels, chunks) in toWrite)
            {
                bytes.Clear();
                foreach (var c in chunks) bytes.Add(new ChunkData(c.MinT, c.MaxT, _headChunks!.Read(c)));
                w.AddSeries(labels, bytes);
            }
            var dir = w.Finish(start, end, 1, []);
            block = Block.Open(dir, new StringInterner());
        }

        var removed = new List<(ulong, Labels)>();
        _state.EnterWriteLock();
        try
        {
            if (block is not null) _blocks = WithBlocks(_blocks, [block], []);
            long dropped = 0;
            var newMin = long.MaxValue;
            foreach (var s in HeadSeriesSnapshot())
            {
                lock (s.Sync)
                {
                    dropped += s.DropBefore(end);
                    if (s.IsEmpty) removed.Add((s.Ref, s.Labels));
                    else if (s.MinT < newMin) newMin = s.MinT;
                }
            }
            // Commits are excluded by the writer lock, so nothing can lower the minimum meanwhile.
            Volatile.Write(ref _headMinT, newMin);
            // No head chunk before `end` is left, and queries read chunk files only under the state lock.
            _headChunks!.DeleteBefore(end);
            lock (_indexLock)
            {
                foreach (var (r, labels) in removed)
                {
                    var s = _byRef[r];
                    s.Removed = true;
                    _byRef.Remove(r);
                    _byLabels.TryRemove(labels, out _);
                }
                _index.Remove(removed);
            }
            Interlocked.Add(ref Stats._headChunks, -dropped);
            Interlocked.Add(ref Stats._headSeries, -removed.Count);
            Interlocked.Add(ref Stats._seriesRemoved, removed.Count);
        }
        finally
        {
            _state.ExitWriteLock();
        }
        Interlocked.Increment(ref Stats._headCuts);
        RefreshBlockStats();
        Checkpoint(end);
        return true;
    }

    private void Checkpoint(long minT)
    {
        int upTo;
        lock (_walLock) upTo = _wal!.CutSegment();
        HashSet<ulong> live;
        lock (_indexLock)
        {
            live = [.. _byRef.Keys];
            foreach (var (alias, target) in _refAliases.ToArray())
            {
                if (live.Contains(target)) live.Add(alias);
                else _refAliases.Remove(alias);
            }
        }
        _wal!.Checkpoint(upTo, live.Contains, minT);
    }

    private static List<Block> WithBlocks(List<Block> current, IReadOnlyList<Block> add, IReadOnlyCollection<Block> remove)
    {
        var list = new List<Block>(current.Count + add.Count);
        foreach (var b in current)
        {
            if (!remove.Contains(b)) list.Add(b);
        }
        list.AddRange(add);
        list.Sort(static (a, b) => a.Meta.MinT.CompareTo(b.Meta.MinT));
        return list;
    }

    private void Compact()
    {
        for (var guard = 0; guard < 1000; guard++)
        {
            var group = PlanCompaction(_blocks);
            if (group is null) return;
            CompactGroup(group);
        }
    }

    private List<Block>? PlanCompaction(List<Block> blocks)
    {
        var minValid = Volatile.Read(ref _minValidT);
        foreach (var range in _compactionRanges)
        {
            var i = 0;
            while (i < blocks.Count)
            {
                var gStart = TimeMath.AlignDown(blocks[i].Meta.MinT, range);
                var gEnd = gStart + range;
                var j = i;
                while (j < blocks.Count && blocks[j].Meta.MinT >= gStart && blocks[j].Meta.MaxT <= gEnd) j++;
                // Only complete ranges: the head accepts nothing before minValid, so no block will join later.
                if (j - i >= 2 && gEnd <= minValid) return blocks.GetRange(i, j - i);
                i = Math.Max(j, i + 1);
            }
        }
        return null;
    }

    private void CompactGroup(List<Block> group)
    {
        var sources = new List<string>();
        var level = 1;
        long minT = long.MaxValue, maxT = long.MinValue;
        foreach (var b in group)
        {
            sources.Add(b.Meta.Id);
            foreach (var s in b.Meta.Sources)
            {
                if (!sources.Contains(s)) sources.Add(s);
            }
            level = Math.Max(level, b.Meta.Level + 1);
            minT = Math.Min(minT, b.Meta.MinT);
            maxT = Math.Max(maxT, b.Meta.MaxT);
        }

        string dir;
        using (var w = new BlockWriter(_blocksDir, NewBlockId()))
        {
            var cursors = new int[group.Count];
            var chunks = new List<ChunkData>();
            while (true)
            {
                Labels? next = null;
                for (var k = 0; k < group.Count; k++)
                {
                    var all = group[k].AllSeries;
                    if (cursors[k] < all.Count && (next is null || all[cursors[k]].Labels.CompareTo(next) < 0)) next = all[cursors[k]].Labels;
                }
                if (next is null) break;
                chunks.Clear();
                for (var k = 0; k < group.Count; k++)
                {
                    var all = group[k].AllSeries;
                    if (cursors[k] >= all.Count || !all[cursors[k]].Labels.Equals(next)) continue;
                    foreach (var c in all[cursors[k]].Chunks) chunks.Add(new ChunkData(c.MinT, c.MaxT, group[k].ReadChunk(c)));
                    cursors[k]++;
                }
                w.AddSeries(next, Rechunk(chunks, _samplesPerChunk));
            }
            dir = w.Finish(minT, maxT, level, sources);
        }
        var block = Block.Open(dir, new StringInterner());

        _state.EnterWriteLock();
        try
        {
            _blocks = WithBlocks(_blocks, [block], group);
        }
        finally
        {
            _state.ExitWriteLock();
        }
        foreach (var b in group)
        {
            b.Dispose();
            DeleteBlockDir(b.Dir);
        }
        Interlocked.Increment(ref Stats._compactions);
        RefreshBlockStats();
    }

    /// <summary>
    /// Re-encodes a series' chunks into full ones when some are small (sparse series cut at every block boundary),
    /// which saves per-chunk headers and index entries; otherwise returns the chunks as they are.
    /// </summary>
    internal static List<ChunkData> Rechunk(List<ChunkData> chunks, int samplesPerChunk)
    {
        if (chunks.Count < 2) return chunks;
        var small = 0;
        for (var i = 0; i < chunks.Count - 1; i++)
        {
            if (XorChunkReader.CountOf(chunks[i].Data) < samplesPerChunk / 2) small++;
        }
        if (small == 0) return chunks;
        var result = new List<ChunkData>();
        XorChunkWriter? w = null;
        foreach (var c in chunks)
        {
            var r = new XorChunkReader(c.Data);
            while (r.Next(out var t, out var v))
            {
                if (w is not null && w.Count >= samplesPerChunk)
                {
                    result.Add(new ChunkData(w.MinT, w.MaxT, w.ToArray()));
                    w = null;
                }
                w ??= new XorChunkWriter(256);
                w.Append(t, v);
            }
        }
        if (w is not null) result.Add(new ChunkData(w.MinT, w.MaxT, w.ToArray()));
        return result;
    }

    private void ApplyRetention()
    {
        var blocks = _blocks;
        if (blocks.Count == 0) return;
        var doomed = new HashSet<Block>();
        if (_options.Retention > TimeSpan.Zero)
        {
            var cutoff = _time.GetUtcNow().ToUnixTimeMilliseconds() - (long)_options.Retention.TotalMilliseconds;
            foreach (var b in blocks)
            {
                if (b.Meta.MaxT <= cutoff) doomed.Add(b);
            }
        }
        if (_options.MaxBytes > 0)
        {
            long total;
            lock (_walLock) total = _wal!.SizeBytes();
            foreach (var b in blocks)
            {
                if (!doomed.Contains(b)) total += b.SizeBytes;
            }
            foreach (var b in blocks)
            {
                if (total <= _options.MaxBytes) break;
                if (doomed.Add(b)) total -= b.SizeBytes;
            }
        }
        if (doomed.Count == 0) return;
        _state.EnterWriteLock();
        try
        {
            _blocks = WithBlocks(_blocks, [], doomed);
        }
        finally
        {
            _state.ExitWriteLock();
        }
        foreach (var b in doomed)
        {
            b.Dispose();
            DeleteBlockDir(b.Dir);
        }
        Interlocked.Add(ref Stats._retentionDeletions, doomed.Count);
        RefreshBlockStats();
    }

    private void DeleteBlockDir(string dir)
    {
        try
        {
            // Rename first so a crash mid-delete never leaves a half block that looks whole.
            var doomed = dir + ".deleting";
            Directory.Move(dir, doomed);
            Directory.Delete(doomed, recursive: true);
        }
        catch (IOException e)
        {
            _warn($"could not delete block {dir}: {e.Message}");
        }
    }

    private void RefreshBlockStats()
    {
        var blocks = _blocks;
        long bytes = 0;
        foreach (var b in blocks) bytes += b.SizeBytes;
        Volatile.Write(ref Stats._blocks, blocks.Count);
        Volatile.Write(ref Stats._blockBytes, bytes);
    }

    private string NewBlockId()
    {
        var ms = _time.GetUtcNow().ToUnixTimeMilliseconds();
        return ms.ToString("x12", CultureInfo.InvariantCulture) + Random.Shared.Next().ToString("x8", CultureInfo.InvariantCulture);
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
