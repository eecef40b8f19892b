using System.Numerics;
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

    /// <summary>
    /// Ids of series matching all matchers, sorted. Each matcher is first resolved to the posting lists of the label
    /// values it accepts (or, for a matcher accepting "", rejects) without copying them. The smallest accepted set is
    /// materialised; every other matcher then either filters that candidate set by binary search in its lists, or,
    /// when the candidates are many, is merged with it. So <c>up{job=~"a|b"}</c> costs a few lookups per <c>up</c>
    /// series rather than a union of every series of jobs a and b (O(all series) work and large-object-heap garbage).
    /// </summary>
    public ulong[] Select(IReadOnlyList<LabelMatcher> matchers)
    {
        List<Term>? positives = null;
        List<Term>? negatives = null;
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
                (positives ??= []).Add(new Term([list]));
                continue;
            }
            if (m.Type == MatchOp.NotEqual && m.Value.Length > 0)
            {
                if (values.TryGetValue(m.Value, out var list)) (negatives ??= []).Add(new Term([list]));
                continue;
            }
            var empty = m.MatchesEmpty;
            // A matcher accepting "" also accepts series without the label: subtract the values it rejects.
            // Otherwise take the union of the values it accepts.
            var lists = new List<PostingList>();
            foreach (var (value, list) in values)
            {
                if (m.Matches(value) != empty) lists.Add(list);
            }
            if (empty)
            {
                if (lists.Count > 0) (negatives ??= []).Add(new Term(lists));
            }
            else
            {
                if (lists.Count == 0) return [];
                (positives ??= []).Add(new Term(lists));
            }
        }

        ulong[] result;
        int n;
        if (positives is null)
        {
            result = _all.Span.ToArray();
            n = result.Length;
        }
        else
        {
            positives.Sort(static (a, b) => a.Count.CompareTo(b.Count));
            result = Postings.Union(positives[0].Lists);
            n = result.Length;
            for (var i = 1; i < positives.Count && n > 0; i++) n = Narrow(result, n, positives[i], keep: true, ref result);
        }
        if (negatives is not null)
        {
            foreach (var t in negatives)
            {
                if (n == 0) break;
                n = Narrow(result, n, t, keep: false, ref result);
            }
        }
        return n == result.Length ? result : result.AsSpan(0, n).ToArray();
    }

    /// <summary>The posting lists one matcher resolved to, and their total length.</summary>
    private readonly struct Term
    {
        public Term(List<PostingList> lists)
        {
            Lists = lists;
            foreach (var l in lists) Count += l.Count;
        }

        public List<PostingList> Lists { get; }
        public long Count { get; }
    }

    /// <summary>
    /// Narrows the first <paramref name="n"/> ids of <paramref name="candidates"/> (an array this query owns) to those
    /// in the term's lists (<paramref name="keep"/>) or not in them; returns how many are left, at the start of
    /// <paramref name="result"/>. Probes each candidate by binary search, in place, when that is cheaper than a merge
    /// over the term's ids; otherwise merges into a new array assigned to <paramref name="result"/>.
    /// </summary>
    private static int Narrow(ulong[] candidates, int n, Term term, bool keep, ref ulong[] result)
    {
        var probes = (long)n * term.Lists.Count * (BitOperations.Log2((ulong)Math.Max(2, term.Count)) + 1);
        if (probes <= term.Count + n)
        {
            var w = 0;
            for (var r = 0; r < n; r++)
            {
                var id = candidates[r];
                var found = false;
                foreach (var l in term.Lists)
                {
                    if (l.Span.BinarySearch(id) >= 0)
                    {
                        found = true;
                        break;
                    }
                }
                if (found == keep) candidates[w++] = id;
            }
            return w;
        }
        var cur = candidates.AsSpan(0, n);
        if (term.Lists.Count == 1)
            result = keep ? Postings.Intersect(cur, term.Lists[0].Span) : Postings.Difference(cur, term.Lists[0].Span);
        else
        {
            var other = Postings.Union(term.Lists);
            result = keep ? Postings.Intersect(cur, other) : Postings.Difference(cur, other);
        }
        return result.Length;
    }

    public IEnumerable<string> Names => _byName.Keys;

    /// <summary>Every label name with its values and their posting lists (read under the owner's lock).</summary>
    public IReadOnlyDictionary<string, Dictionary<string, PostingList>> ByName => _byName;

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

    /// <summary>The sorted union of posting lists, always a new array.</summary>
    public static ulong[] Union(List<PostingList> lists)
    {
        if (lists.Count == 0) return [];
        if (lists.Count == 1) return lists[0].Span.ToArray();
        if (lists.Count == 2) return Merge(lists[0].Span, lists[1].Span);
        var total = 0;
        foreach (var l in lists) total += l.Count;
        var all = new ulong[total];
        var pos = 0;
        foreach (var l in lists)
        {
            l.Span.CopyTo(all.AsSpan(pos));
            pos += l.Count;
        }
        Array.Sort(all);
        var n = 0;
        for (var i = 0; i < all.Length; i++)
        {
            if (n == 0 || all[n - 1] != all[i]) all[n++] = all[i];
        }
        return n == all.Length ? all : all.AsSpan(0, n).ToArray();
    }

    private static ulong[] Merge(ReadOnlySpan<ulong> a, ReadOnlySpan<ulong> b)
    {
        var res = new ulong[a.Length + b.Length];
        int i = 0, j = 0, n = 0;
        while (i < a.Length && j < b.Length)
        {
            if (a[i] < b[j]) res[n++] = a[i++];
            else if (a[i] > b[j]) res[n++] = b[j++];
            else
            {
                res[n++] = a[i++];
                j++;
            }
        }
        while (i < a.Length) res[n++] = a[i++];
        while (j < b.Length) res[n++] = b[j++];
        return n == res.Length ? res : res.AsSpan(0, n).ToArray();
    }
}
