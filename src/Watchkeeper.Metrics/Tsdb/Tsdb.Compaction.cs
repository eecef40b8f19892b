using System.Globalization;
using Watchkeeper.Metrics.Model;

namespace Watchkeeper.Metrics.Tsdb;

// Maintenance: cutting blocks from the head, WAL checkpoints, compaction of adjacent blocks, retention.
public sealed partial class Tsdb
{

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
        // The head is cut by its newest sample, but never by one later than now plus the grace period (appends refuse
        // those; this guards against any that got in otherwise): a stray far-future sample must not move the head's
        // lower bound past the present. All arithmetic saturates, so samples near the ends of the long range are safe.
        var headMax = Math.Min(Volatile.Read(ref _headMaxT), MaxValidTime());
        if (headMin == long.MaxValue || headMax <= headMin) return false;
        // The true difference of two longs always fits in a ulong, even when the long subtraction wraps.
        if (unchecked((ulong)(headMax - headMin)) <= (ulong)(_blockMs + _blockMs / 2)) return false;
        var start = TimeMath.AlignDown(headMin, _blockMs);
        var end = TimeMath.AddSaturating(start, _blockMs);

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
#pragma warning disable CA2000 // the block joins _blocks below, which Dispose closes
            block = Block.Open(dir, new StringInterner());
#pragma warning restore CA2000
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
                _seriesVersion++;
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
                var gEnd = TimeMath.AddSaturating(gStart, range);
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
#pragma warning disable CA2000 // the block joins _blocks below, which Dispose closes
        var block = Block.Open(dir, new StringInterner());
#pragma warning restore CA2000

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
}
