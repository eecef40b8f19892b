using Watchkeeper.Metrics.Model;

namespace Watchkeeper.Metrics.Tsdb;

/// <summary>A sorted list of series ids.</summary>
internal sealed class PostingList
{
    private ulong[] _ids = new ulong[4];

    public int Count { get; private set; }
    public ReadOnlySpan<ulong> Span => _ids.AsSpan(0, Count);

    /// <summary>Adds an id; ids normally arrive in increasing order, so this is an append.</summary>
    public void Add(ulong id)
    {
        if (Count == _ids.Length) Array.Resize(ref _ids, _ids.Length * 2);
        if (Count == 0 || _ids[Count - 1] < id)
        {
            _ids[Count++] = id;
            return;
        }
        var i = Span.BinarySearch(id);
        if (i >= 0) return;
        i = ~i;
        Array.Copy(_ids, i, _ids, i + 1, Count - i);
        _ids[i] = id;
        Count++;
    }

    public void RemoveAll(HashSet<ulong> ids)
    {
        var w = 0;
        for (var r = 0; r < Count; r++)
        {
            if (!ids.Contains(_ids[r])) _ids[w++] = _ids[r];
        }
        Count = w;
        if (Count < _ids.Length / 4 && _ids.Length > 8) Array.Resize(ref _ids, Math.Max(4, Count * 2));
    }
}

/// <summary>
/// Inverted index: label name -> label value -> sorted posting list of series ids. Not thread-safe:
/// the head guards it with a lock, blocks build it once and only read it.
/// </summary>
internal sealed class PostingsIndex
{
    private readonly Dictionary<string, Dictionary<string, PostingList>> _byName = new(StringComparer.Ordinal);
    private readonly PostingList _all = new();

    public int SeriesCount => _all.Count;

    public void Add(ulong id, Labels labels)
    {
        _all.Add(id);
        foreach (var l in labels.AsSpan())
        {
            if (!_byName.TryGetValue(l.Name, out var values))
            {
                values = new Dictionary<string, PostingList>(StringComparer.Ordinal);
                _byName[l.Name] = values;
            }
            if (!values.TryGetValue(l.Value, out var list))
            {
                list = new PostingList();
                values[l.Value] = list;
            }
            list.Add(id);
        }
    }

    /// <summary>Removes a batch of series; empty values and names disappear.</summary>
    public void Remove(IReadOnlyList<(ulong Id, Labels Labels)> series)
    {
        if (series.Count == 0) return;
        var ids = new HashSet<ulong>();
        var touched = new HashSet<(string, string)>();
        foreach (var (id, labels) in series)
        {
            ids.Add(id);
            foreach (var l in labels.AsSpan()) touched.Add((l.Name, l.Value));
        }
        _all.RemoveAll(ids);
        foreach (var (name, value) in touched)
        {
            if (!_byName.TryGetValue(name, out var values) || !values.TryGetValue(value, out var list)) continue;
            list.RemoveAll(ids);
            if (list.Count == 0)
            {
                values.Remove(value);
                if (values.Count == 0) _byName.Remove(name);
            }
        }
    }

    /// <summary>Ids of series matching all matchers, sorted.</summary>
    public ulong[] Select(IReadOnlyList<LabelMatcher> matchers)
    {
        List<ulong[]>? positives = null;
        List<ulong[]>? negatives = null;
        foreach (var m in matchers)
        {
            if (!_byName.TryGetValue(m.Name, out var values))
            {
                // No series has the label: every series carries "" for it.
                if (m.MatchesEmpty) continue;
                return [];
            }
            if (m.Type == MatchOp.Equal && m.Value.Length > 0)
            {
                if (!values.TryGetValue(m.Value, out var list)) return [];
                (positives ??= []).Add(list.Span.ToArray());
                continue;
            }
            if (m.Type == MatchOp.NotEqual && m.Value.Length > 0)
            {
                if (values.TryGetValue(m.Value, out var list)) (negatives ??= []).Add(list.Span.ToArray());
                continue;
            }
            var empty = m.MatchesEmpty;
            // A matcher accepting "" also accepts series without the label: subtract the values it rejects.
            // Otherwise take the union of the values it accepts.
            var parts = new List<ulong[]>();
            foreach (var (value, list) in values)
            {
                if (m.Matches(value) != empty) parts.Add(list.Span.ToArray());
            }
            var union = Postings.Union(parts);
            if (empty)
            {
                if (union.Length > 0) (negatives ??= []).Add(union);
            }
            else
            {
                if (union.Length == 0) return [];
                (positives ??= []).Add(union);
            }
        }

        ulong[] result;
        if (positives is null) result = _all.Span.ToArray();
        else
        {
            positives.Sort(static (a, b) => a.Length.CompareTo(b.Length));
            result = positives[0];
            for (var i = 1; i < positives.Count && result.Length > 0; i++) result = Postings.Intersect(result, positives[i]);
        }
        if (negatives is not null)
        {
            foreach (var n in negatives)
            {
                if (result.Length == 0) break;
                result = Postings.Difference(result, n);
            }
        }
        return result;
    }

    public IEnumerable<string> Names => _byName.Keys;

    public IEnumerable<string> ValuesOf(string name) =>
        _byName.TryGetValue(name, out var values) ? values.Keys : [];
}

internal static class Postings
{
    public static ulong[] Intersect(ReadOnlySpan<ulong> a, ReadOnlySpan<ulong> b)
    {
        var res = new ulong[Math.Min(a.Length, b.Length)];
        int i = 0, j = 0, n = 0;
        while (i < a.Length && j < b.Length)
        {
            if (a[i] < b[j]) i++;
            else if (a[i] > b[j]) j++;
            else
            {
                res[n++] = a[i];
                i++;
                j++;
            }
        }
        return n == res.Length ? res : res.AsSpan(0, n).ToArray();
    }

    public static ulong[] Difference(ReadOnlySpan<ulong> a, ReadOnlySpan<ulong> b)
    {
        var res = new ulong[a.Length];
        int i = 0, j = 0, n = 0;
        while (i < a.Length)
        {
            if (j >= b.Length || a[i] < b[j]) res[n++] = a[i++];
            else if (a[i] > b[j]) j++;
            else
            {
                i++;
                j++;
            }
        }
        return n == res.Length ? res : res.AsSpan(0, n).ToArray();
    }

    public static ulong[] Union(List<ulong[]> lists)
    {
        if (lists.Count == 0) return [];
        if (lists.Count == 1) return lists[0];
        var total = 0;
        foreach (var l in lists) total += l.Length;
        var all = new ulong[total];
        var pos = 0;
        foreach (var l in lists)
        {
            l.CopyTo(all, pos);
            pos += l.Length;
        }
        Array.Sort(all);
        var n = 0;
        for (var i = 0; i < all.Length; i++)
        {
            if (n == 0 || all[n - 1] != all[i]) all[n++] = all[i];
        }
        return n == all.Length ? all : all.AsSpan(0, n).ToArray();
    }
}
