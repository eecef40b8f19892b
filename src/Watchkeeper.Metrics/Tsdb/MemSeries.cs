using Watchkeeper.Metrics.Model;

namespace Watchkeeper.Metrics.Tsdb;

/// <summary>An encoded chunk with its time range (inclusive).</summary>
internal readonly record struct ChunkData(long MinT, long MaxT, byte[] Data);

/// <summary>
/// One series in the in-memory head: closed (immutable, trimmed) chunks plus one open chunk.
/// Chunks never straddle a block boundary, so cutting the head to a block takes whole chunks.
/// All members except <see cref="MaxT"/> are used under <see cref="Sync"/>.
/// </summary>
internal sealed class MemSeries(ulong seriesRef, Labels labels, HeadChunkFile? chunkFile = null)
{
    public readonly ulong Ref = seriesRef;
    public readonly Labels Labels = labels;
    /// <summary>
    /// The series' monitor. It is the series object itself: a separate lock object per series cost ~40 bytes of
    /// resident memory per head series, and these locks are almost never contended (one scrape loop appends,
    /// queries copy chunk references).
    /// </summary>
    public object Sync => this;

    private readonly HeadChunkFile? _file = chunkFile;
    private HeadChunk[]? _closed;
    private int _closedCount;
    private XorChunkWriter? _open;
    private long _openEnd;
    private long _maxT = long.MinValue;

    /// <summary>Set once the series record is in the WAL (guarded by the WAL lock).</summary>
    public bool Logged;

    /// <summary>Set when garbage-collected from the head; appenders holding it look the series up again.</summary>
    public volatile bool Removed;

    /// <summary>
    /// The stamp of the last appender batch this series was added to (see <c>Tsdb.HeadAppender</c>): lets a batch tell
    /// "first sample of this series in the batch" without a dictionary. Written without a lock: concurrent batches may
    /// overwrite each other's stamp, which only makes a batch miss an in-batch order conflict that the commit then
    /// rejects. A matching stamp (also after the int wraps around) only switches that batch to its exact dictionary check.
    /// </summary>
    public int BatchStamp;

    public long MaxT => Volatile.Read(ref _maxT);

    public bool IsEmpty => _closedCount == 0 && _open is null;

    public int ChunkCount => _closedCount + (_open is null ? 0 : 1);

    public long MinT => _closedCount > 0 ? _closed![0].MinT : _open?.MinT ?? long.MaxValue;

    /// <summary>Appends a sample; <paramref name="chunksCreated"/> is 1 when a new chunk was started.</summary>
    public AppendResult Append(long t, double v, long minValidT, long blockDuration, int samplesPerChunk, out int chunksCreated)
    {
        chunksCreated = 0;
        if (t < minValidT) return AppendResult.TooOld;
        if (t <= _maxT) return t == _maxT ? AppendResult.Duplicate : AppendResult.OutOfOrder;
        if (_open is null || _open.Count >= samplesPerChunk || t >= _openEnd)
        {
            var reuse = _open;
            CloseOpen();
            reuse?.Reset();
            _open = reuse ?? new XorChunkWriter(expectedSamples: samplesPerChunk);
            _openEnd = TimeMath.AddSaturating(TimeMath.AlignDown(t, blockDuration), blockDuration);
            chunksCreated = 1;
        }
        _open.Append(t, v);
        Volatile.Write(ref _maxT, t);
        return AppendResult.Ok;
    }

    private void CloseOpen()
    {
        if (_open is null) return;
        var c = _file is not null
            ? _file.Store(_open.MinT, _open.MaxT, _open.Bytes, _open.Summary)
            : HeadChunkFile.InMemory(_open.MinT, _open.MaxT, _open.Bytes, _open.Summary);
        _open = null;
        _closed ??= new HeadChunk[2];
        if (_closedCount == _closed.Length) Array.Resize(ref _closed, _closed.Length * 2);
        _closed[_closedCount++] = c;
    }

    /// <summary>Closes and returns the chunks that start before <paramref name="end"/> (they also end before it).</summary>
    public void CollectBefore(long end, List<HeadChunk> into)
    {
        if (_open is not null && _open.MinT < end) CloseOpen();
        for (var i = 0; i < _closedCount; i++)
        {
            if (_closed![i].MinT >= end) break;
            into.Add(_closed[i]);
        }
    }

    /// <summary>Drops chunks that start before <paramref name="end"/>; returns how many.</summary>
    public int DropBefore(long end)
    {
        if (_open is not null && _open.MinT < end) CloseOpen();
        var n = 0;
        while (n < _closedCount && _closed![n].MinT < end) n++;
        if (n == 0) return 0;
        Array.Copy(_closed!, n, _closed!, 0, _closedCount - n);
        Array.Clear(_closed!, _closedCount - n, n);
        _closedCount -= n;
        if (_closedCount == 0) _closed = null;
        return n;
    }

    public bool Overlaps(long minT, long maxT)
    {
        if (IsEmpty) return false;
        return MinT <= maxT && _maxT >= minT;
    }

    /// <summary>The chunks overlapping [minT, maxT]: closed ones by reference, the open one copied into <paramref name="arena"/>.</summary>
    public void ChunksInRange(long minT, long maxT, List<HeadChunk> into, ChunkArena arena)
    {
        for (var i = 0; i < _closedCount; i++)
        {
            var c = _closed![i];
            if (c.MaxT < minT) continue;
            if (c.MinT > maxT) return;
            into.Add(c);
        }
        if (_open is not null && _open.MinT <= maxT && _open.MaxT >= minT)
            into.Add(arena.Copy(_open.MinT, _open.MaxT, _open.Bytes));
    }

    /// <summary>
    /// <see cref="ChunksInRange"/> for a counter window: the open chunk, when it lies wholly in [minT, maxT] and never
    /// decreases, is returned as its summary (true) instead of being copied.
    /// </summary>
    public bool CounterChunksInRange(long minT, long maxT, List<HeadChunk> into, ChunkArena arena, out ChunkSummary open)
    {
        open = default;
        if (_open is not null && _open.MinT >= minT && _open.MaxT <= maxT)
        {
            var summary = _open.Summary;
            if (summary.Ascending)
            {
                for (var i = 0; i < _closedCount; i++)
                {
                    var c = _closed![i];
                    if (c.MaxT < minT) continue;
                    into.Add(c);
                }
                open = summary;
                return true;
            }
        }
        ChunksInRange(minT, maxT, into, arena);
        return false;
    }
}
