using System.Collections;
using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;

namespace Watchkeeper.Alerting.Alerts;

/// <summary>
/// An immutable label (or annotation) set held by the alert store: names and values in one array, sorted by name
/// (ordinal), looked up by binary search and enumerated in that order. About a third of a
/// <see cref="Dictionary{TKey, TValue}"/>'s size for the handful of pairs an alert has, and short names and values
/// are shared through <see cref="StringPool"/> (100k alerts repeat "alertname", "severity", "warning", ...).
/// </summary>
public sealed class LabelDictionary : IReadOnlyDictionary<string, string>
{
    public static readonly LabelDictionary Empty = new([]);

    // name0, value0, name1, value1, ... sorted by name.
    private readonly string[] _pairs;

    private LabelDictionary(string[] pairs) => _pairs = pairs;

    /// <summary>The set as a LabelDictionary (the same object when it already is one); names and values are pooled.</summary>
    public static LabelDictionary From(IReadOnlyDictionary<string, string> labels)
    {
        if (labels is LabelDictionary m) return m;
        if (labels.Count == 0) return Empty;
        var b = new Builder(labels.Count);
        foreach (var (k, v) in labels) b.Add(k, v);
        return b.Build();
    }

    public int Count => _pairs.Length / 2;

    public string this[string key] => TryGetValue(key, out var v) ? v : throw new KeyNotFoundException(key);

    public IEnumerable<string> Keys
    {
        get
        {
            for (var i = 0; i < _pairs.Length; i += 2) yield return _pairs[i];
        }
    }

    public IEnumerable<string> Values
    {
        get
        {
            for (var i = 1; i < _pairs.Length; i += 2) yield return _pairs[i];
        }
    }

    /// <summary>The i-th name in sorted order.</summary>
    public string NameAt(int i) => _pairs[2 * i];

    /// <summary>The i-th value in name order.</summary>
    public string ValueAt(int i) => _pairs[2 * i + 1];

    public bool ContainsKey(string key) => IndexOf(key) >= 0;

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out string value)
    {
        var i = IndexOf(key);
        value = i >= 0 ? _pairs[2 * i + 1] : null;
        return i >= 0;
    }

    private int IndexOf(string key)
    {
        int lo = 0, hi = Count - 1;
        while (lo <= hi)
        {
            var mid = (lo + hi) >>> 1;
            var c = string.CompareOrdinal(_pairs[2 * mid], key);
            if (c == 0) return mid;
            if (c < 0) lo = mid + 1;
            else hi = mid - 1;
        }
        return -1;
    }

    public Enumerator GetEnumerator() => new(_pairs);

    IEnumerator<KeyValuePair<string, string>> IEnumerable<KeyValuePair<string, string>>.GetEnumerator() => GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public struct Enumerator(string[] pairs) : IEnumerator<KeyValuePair<string, string>>
    {
        private int _i = -2;

        public readonly KeyValuePair<string, string> Current => new(pairs[_i], pairs[_i + 1]);

        readonly object IEnumerator.Current => Current;

        public bool MoveNext() => (_i += 2) < pairs.Length;

        public void Reset() => _i = -2;

        public readonly void Dispose()
        {
        }
    }

    /// <summary>Collects pairs (a repeated name keeps the last value, as a JSON object read into a map does) and sorts them once.</summary>
    public sealed class Builder(int capacity = 8)
    {
        private readonly List<KeyValuePair<string, string>> _list = new(capacity);

        public int Count => _list.Count;

        /// <summary>Adds a pair, sharing the strings through <see cref="StringPool"/>.</summary>
        public void Add(string name, string value) => AddPooled(StringPool.Get(name), StringPool.Get(value));

        /// <summary>Adds a pair whose strings were already taken from <see cref="StringPool"/>.</summary>
        public void AddPooled(string name, string value)
        {
            for (var i = 0; i < _list.Count; i++)
            {
                if (!string.Equals(_list[i].Key, name, StringComparison.Ordinal)) continue;
                _list[i] = new(_list[i].Key, value);
                return;
            }
            _list.Add(new(name, value));
        }

        public LabelDictionary Build()
        {
            if (_list.Count == 0) return Empty;
            _list.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
            var pairs = new string[_list.Count * 2];
            for (var i = 0; i < _list.Count; i++)
            {
                pairs[2 * i] = _list[i].Key;
                pairs[2 * i + 1] = _list[i].Value;
            }
            return new LabelDictionary(pairs);
        }
    }
}

/// <summary>
/// Shares equal short strings among held alerts (label names, severities, job names, summaries that repeat). Bounded:
/// strings longer than <see cref="MaxLength"/> and any string once <see cref="MaxEntries"/> are pooled are kept as they
/// are, so unique values (an instance per alert) cannot grow the pool beyond that.
/// </summary>
public static class StringPool
{
    public const int MaxLength = 64;
    public const int MaxEntries = 50_000;

    private static readonly ConcurrentDictionary<string, string> Pool = new(StringComparer.Ordinal);
    private static int _count;

    public static string Get(string s)
    {
        if (s.Length == 0) return "";
        if (s.Length > MaxLength) return s;
        if (Pool.TryGetValue(s, out var pooled)) return pooled;
        if (Volatile.Read(ref _count) >= MaxEntries) return s;
        if (Pool.TryAdd(s, s))
        {
            Interlocked.Increment(ref _count);
            return s;
        }
        return Pool.TryGetValue(s, out pooled) ? pooled : s;
    }

    /// <summary>The pooled string equal to <paramref name="chars"/>, allocating only when it is not pooled yet.</summary>
    public static string Get(ReadOnlySpan<char> chars)
    {
        if (chars.Length == 0) return "";
        if (chars.Length <= MaxLength && Pool.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(chars, out var pooled)) return pooled;
        return Get(new string(chars));
    }
}
