using System.Runtime.InteropServices;
using Watchkeeper.Metrics.Model;

namespace Watchkeeper.Metrics.Tsdb;

// Querying: series selection over blocks and head, label names and values.
public sealed partial class Tsdb
{

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
    /// and copies references to the head chunks in range (closed chunks are immutable; the open one is copied into a
    /// pooled arena), so reading and decoding happen outside every lock, one series at a time into one reused buffer.
    /// Closed head chunks are read through a <see cref="HeadChunkReader"/> (each file mapped once per query).
    /// </summary>
    public void SelectEach(long minT, long maxT, IReadOnlyList<LabelMatcher> matchers, SeriesVisitor visit)
    {
        ArgumentNullException.ThrowIfNull(matchers);
        ArgumentNullException.ThrowIfNull(visit);
        // Per head series (in label order) its labels and its chunks' slice of one flat list (no array per series).
        var head = new List<(Labels Labels, int Start, int Count)>();
        var blocks = new List<Block>();
        var chunks = new List<HeadChunk>();
        var arena = new ChunkArena();
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
            var selected = HeadSelectSorted(matchers);
            head.Capacity = selected.Length;
            foreach (var s in selected)
            {
                var start = chunks.Count;
                lock (s.Sync)
                {
                    if (s.Overlaps(minT, maxT)) s.ChunksInRange(minT, maxT, chunks, arena);
                }
                if (chunks.Count > start) head.Add((s.Labels, start, chunks.Count - start));
            }
        }
        catch
        {
            foreach (var b in blocks) b.Release();
            if (pinned) _headChunks!.Unpin();
            arena.Dispose();
            throw;
        }
        finally
        {
            _state.ExitReadLock();
        }

        // The decode buffer of the thread's previous query, when it left it (small ones only are kept).
        var scratch = t_scratch ?? new List<Sample>();
        t_scratch = null;
        var reader = new HeadChunkReader(_headChunks);
        void DecodeHead(int start, int count)
        {
            for (var i = start; i < start + count; i++) ChunkDecoding.DecodeRange(reader.Read(chunks[i]), minT, maxT, scratch);
        }
        try
        {
            if (blocks.Count == 0)
            {
                foreach (var (labels, start, count) in head)
                {
                    scratch.Clear();
                    DecodeHead(start, count);
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
                    else DecodeHead(head[idx].Start, head[idx].Count);
                }
                if (scratch.Count > 0) visit(labels, CollectionsMarshal.AsSpan(scratch));
            }
        }
        finally
        {
            reader.Dispose();
            arena.Dispose();
            foreach (var b in blocks) b.Release();
            _headChunks!.Unpin();
            if (scratch.Capacity <= 1 << 16)
            {
                scratch.Clear();
                t_scratch = scratch;
            }
        }
    }

    [ThreadStatic] private static List<Sample>? t_scratch;

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
}
