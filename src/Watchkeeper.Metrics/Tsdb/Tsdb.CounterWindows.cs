using System.Runtime.InteropServices;
using Watchkeeper.Metrics.Model;

namespace Watchkeeper.Metrics.Tsdb;

// Counter windows: rate/increase over head series without decoding the chunks that lie wholly in the window.
public sealed partial class Tsdb : ICounterWindowQuerier
{
    /// <summary>
    /// <see cref="ICounterWindowQuerier.SelectCounterWindows"/>. Over the head, a chunk wholly inside [minT, maxT] whose
    /// values never decrease is not decoded: the open chunk's writer knows its first and last sample, and a closed chunk
    /// carries them in its header and trailer (<see cref="ChunkSummary"/>); such a closed chunk that the window starts in
    /// is decoded only up to its first sample in the window. Every other chunk is decoded as in <see cref="SelectEach"/>. When a block overlaps the window the series are read with <see cref="SelectEach"/>.
    /// </summary>
    public void SelectCounterWindows(long minT, long maxT, IReadOnlyList<LabelMatcher> matchers, CounterWindowVisitor visit)
    {
        ArgumentNullException.ThrowIfNull(matchers);
        ArgumentNullException.ThrowIfNull(visit);
        var builder = new CounterWindowBuilder();
        List<(Labels Labels, int Start, int Count, int Open)> head = [];
        var chunks = new List<HeadChunk>();
        List<ChunkSummary> opens = [];
        var arena = new ChunkArena();
        var pinned = false;
        var blocks = false;
        _state.EnterReadLock();
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            foreach (var b in _blocks)
            {
                if (b.Overlaps(minT, maxT)) blocks = true;
            }
            if (!blocks)
            {
                _headChunks!.Pin();
                pinned = true;
                var selected = HeadSelectSorted(matchers);
                // Sized once: these lists hold one entry per series (tens of thousands for a rule over histogram buckets).
                head = new(selected.Length);
                opens = new(selected.Length);
                foreach (var s in selected)
                {
                    var start = chunks.Count;
                    var hasOpen = false;
                    ChunkSummary open = default;
                    lock (s.Sync)
                    {
                        if (s.Overlaps(minT, maxT)) hasOpen = s.CounterChunksInRange(minT, maxT, chunks, arena, out open);
                    }
                    if (chunks.Count == start && !hasOpen) continue;
                    head.Add((s.Labels, start, chunks.Count - start, hasOpen ? opens.Count : -1));
                    if (hasOpen) opens.Add(open);
                }
            }
        }
        catch
        {
            if (pinned) _headChunks!.Unpin();
            arena.Dispose();
            throw;
        }
        finally
        {
            _state.ExitReadLock();
        }

        if (blocks)
        {
            arena.Dispose();
            SelectEach(minT, maxT, matchers, (labels, samples) =>
            {
                builder.Reset();
                builder.Add(samples);
                if (builder.Count > 0) visit(labels, builder.Window);
            });
            return;
        }

        var scratch = t_scratch ?? new List<Sample>();
        t_scratch = null;
        var reader = new HeadChunkReader(_headChunks!);
        long summarized = 0;
        try
        {
            foreach (var (labels, start, count, open) in head)
            {
                builder.Reset();
                for (var i = start; i < start + count; i++)
                {
                    var c = chunks[i];
                    if (c.HasTrailer && c.MaxT <= maxT)
                    {
                        var summary = reader.Summary(c);
                        if (summary.Ascending)
                        {
                            if (c.MinT >= minT)
                            {
                                builder.AddAscending(new Sample(summary.FirstT, summary.FirstV), new Sample(summary.LastT, summary.LastV), summary.Count);
                                summarized++;
                                continue;
                            }
                            // The window starts inside the chunk: decode up to its first sample in the window only.
                            if (ChunkDecoding.SeekFirst(reader.Read(c), minT, out var index, out var first))
                            {
                                builder.AddAscending(first, new Sample(summary.LastT, summary.LastV), summary.Count - index);
                                summarized++;
                            }
                            continue;
                        }
                    }
                    scratch.Clear();
                    ChunkDecoding.DecodeRange(reader.Read(c), minT, maxT, scratch);
                    builder.Add(CollectionsMarshal.AsSpan(scratch));
                }
                if (open >= 0)
                {
                    var o = opens[open];
                    builder.AddAscending(new Sample(o.FirstT, o.FirstV), new Sample(o.LastT, o.LastV), o.Count);
                    summarized++;
                }
                if (builder.Count > 0) visit(labels, builder.Window);
            }
        }
        finally
        {
            Interlocked.Add(ref Stats._counterChunksSummarized, summarized);
            reader.Dispose();
            arena.Dispose();
            _headChunks!.Unpin();
            if (scratch.Capacity <= 1 << 16)
            {
                scratch.Clear();
                t_scratch = scratch;
            }
        }
    }
}
