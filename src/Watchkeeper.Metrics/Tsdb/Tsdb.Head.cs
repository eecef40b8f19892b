using Watchkeeper.Metrics.Model;

namespace Watchkeeper.Metrics.Tsdb;

// The head: WAL replay into the in-memory series, and the series index (lookup, creation, selection).
public sealed partial class Tsdb
{
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
            if (t > _replayMaxT)
            {
                // Written before the future bound existed: replaying it would move the next head cut past now.
                Stats._replayFutureDropped++;
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


    private void AddSeriesLocked(MemSeries s)
    {
        _seriesVersion++;
        _byLabels[s.Labels] = s;
        _byRef[s.Ref] = s;
        _index.Add(s.Ref, s.Labels);
        Interlocked.Increment(ref Stats._headSeries);
    }

    /// <summary>The head series for the labels, created when new and within the limits; otherwise null and why.</summary>
    private MemSeries? GetOrCreate(Labels labels, out AppendResult refused)
    {
        refused = AppendResult.Ok;
        if (_byLabels.TryGetValue(labels, out var s)) return s;
        // Checked once per new series, never per sample of an existing one.
        if (_limits.CheckSeries(labels) is not null)
        {
            refused = AppendResult.LabelLimit;
            return null;
        }
        lock (_indexLock)
        {
            if (_byLabels.TryGetValue(labels, out s)) return s;
            if (_limits.MaxHeadSeries > 0 && _byRef.Count >= _limits.MaxHeadSeries)
            {
                refused = AppendResult.SeriesLimit;
                return null;
            }
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

    // Bumped (under the index lock) whenever a head series is added or removed.
    private long _seriesVersion;

    /// <summary>Selections of at least this many head series are kept in label order between queries.</summary>
    private const int SortedSelectionMinSeries = 256;
    /// <summary>Bound on the series references all remembered selections hold together (8 bytes each).</summary>
    private const int SortedSelectionMaxSeries = 1_000_000;
    private readonly Dictionary<string, (long Version, MemSeries[] Series)> _sortedSelections = new(StringComparer.Ordinal);
    private long _sortedSelectionSeries;

    /// <summary>
    /// <see cref="HeadSelect"/> in label order. A large selection is remembered (by its matchers) until a head series
    /// is added or removed, so a rule or dashboard evaluating the same selector every few seconds over an unchanged
    /// head neither looks up its postings nor sorts its series again. The array is shared: callers only read it.
    /// </summary>
    private MemSeries[] HeadSelectSorted(IReadOnlyList<LabelMatcher> matchers)
    {
        var key = SelectionKey(matchers);
        long version;
        lock (_indexLock)
        {
            if (_sortedSelections.TryGetValue(key, out var cached) && cached.Version == _seriesVersion) return cached.Series;
            version = _seriesVersion;
        }
        var series = HeadSelect(matchers);
        Array.Sort(series, static (a, b) => a.Labels.CompareTo(b.Labels));
        if (series.Length < SortedSelectionMinSeries) return series;
        lock (_indexLock)
        {
            // Taken under the lock with the version read before the select: a series added in between makes the entry
            // stale at once (a later query selects again) instead of caching a list that misses it.
            if (_sortedSelections.Remove(key, out var old)) _sortedSelectionSeries -= old.Series.Length;
            if (_sortedSelectionSeries + series.Length > SortedSelectionMaxSeries)
            {
                _sortedSelections.Clear();
                _sortedSelectionSeries = 0;
            }
            if (series.Length <= SortedSelectionMaxSeries)
            {
                _sortedSelections[key] = (version, series);
                _sortedSelectionSeries += series.Length;
            }
        }
        return series;
    }

    private static string SelectionKey(IReadOnlyList<LabelMatcher> matchers)
    {
        if (matchers.Count == 1) return matchers[0].ToString();
        var parts = new string[matchers.Count];
        for (var i = 0; i < parts.Length; i++) parts[i] = matchers[i].ToString();
        return string.Join('\u0000', parts);
    }
}
