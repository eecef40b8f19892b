using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Watchkeeper.Metrics.Model;

namespace Watchkeeper.Metrics.Tsdb;

// Appending: the per-appender batch, in-batch order checks, and the commit (WAL write, then head apply).
public sealed partial class Tsdb
{
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
        // The accepted window by the grace periods, fixed when the batch starts (one clock read per batch, not per sample).
        public long MinT;
        public long MaxT;
    }

    private readonly ConcurrentBag<AppendBuffers> _appendPool = [];
    private int _batchStamps;

    private AppendBuffers RentAppendBuffers()
    {
        var buf = _appendPool.TryTake(out var pooled) ? pooled : new AppendBuffers();
        buf.Stamp = Interlocked.Increment(ref _batchStamps);
        buf.MinT = MinGraceTime();
        buf.MaxT = MaxValidTime();
        return buf;
    }

    private sealed class HeadAppender(Tsdb db) : ISeriesAppender
    {
        private AppendBuffers? _buf;

        public AppendResult Append(Labels labels, long t, double v)
        {
            ArgumentNullException.ThrowIfNull(labels);
            ObjectDisposedException.ThrowIf(db._disposed, db);
            var buf = _buf ??= db.RentAppendBuffers();
            if (t < buf.MinT || t > buf.MaxT || t < Volatile.Read(ref db._minValidT)) return OutOfBounds(t, buf);
            var s = db.GetOrCreate(labels, out var refused);
            return s is null ? Refuse(refused) : AppendTo(s, t, v, buf);
        }

        public AppendResult Append(ref SeriesRef series, Labels labels, long t, double v)
        {
            ArgumentNullException.ThrowIfNull(labels);
            ObjectDisposedException.ThrowIf(db._disposed, db);
            var buf = _buf ??= db.RentAppendBuffers();
            if (t < buf.MinT || t > buf.MaxT || t < Volatile.Read(ref db._minValidT)) return OutOfBounds(t, buf);
            // The handle is good while it is ours and its series is still in the head; a series garbage-collected from
            // the head (no samples for a while) is looked up, i.e. recreated, by labels.
            if (!ReferenceEquals(series.Owner, db) || series.Handle is not MemSeries s || s.Removed)
            {
                var created = db.GetOrCreate(labels, out var refused);
                if (created is null) return Refuse(refused);
                s = created;
                series = new SeriesRef(db, s);
            }
            return AppendTo(s, t, v, buf);
        }

        private AppendResult OutOfBounds(long t, AppendBuffers buf)
        {
            if (t > buf.MaxT)
            {
                Interlocked.Increment(ref db.Stats._tooFarInFuture);
                return AppendResult.TooFarInFuture;
            }
            if (t < Volatile.Read(ref db._minValidT))
            {
                Interlocked.Increment(ref db.Stats._tooOld);
                return AppendResult.TooOld;
            }
            Interlocked.Increment(ref db.Stats._tooFarInPast);
            return AppendResult.TooFarInPast;
        }

        private AppendResult Refuse(AppendResult why)
        {
            if (why == AppendResult.SeriesLimit) Interlocked.Increment(ref db.Stats._seriesLimit);
            else Interlocked.Increment(ref db.Stats._labelLimit);
            return why;
        }

        private AppendResult AppendTo(MemSeries s, long t, double v, AppendBuffers buf)
        {
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
            var refusedAtCommit = false;
            for (var i = 0; i < span.Length; i++)
            {
                // The series was garbage-collected from the head between Append and Commit: recreate it (it passed the
                // label limits when first created; only a head filled up meanwhile can refuse it now).
                if (!span[i].Series.Removed) continue;
                if (GetOrCreate(span[i].Series.Labels, out _) is { } again) span[i] = span[i] with { Series = again };
                else refusedAtCommit = true;
            }
            if (refusedAtCommit)
            {
                var kept = 0;
                for (var i = 0; i < span.Length; i++)
                {
                    if (span[i].Series.Removed) Interlocked.Increment(ref Stats._seriesLimit);
                    else span[kept++] = span[i];
                }
                span = span[..kept];
                if (span.IsEmpty) return;
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
}
