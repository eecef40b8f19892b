using System.Collections;
using System.Text;

namespace Watchkeeper.Metrics.Model;

/// <summary>One label: a name and a value.</summary>
public readonly record struct Label(string Name, string Value);

/// <summary>
/// An immutable label set, sorted by name, with no duplicate names and no empty values.
/// The metric name is the label <c>__name__</c>. Equality and hashing are by content.
/// </summary>
public sealed class Labels : IReadOnlyList<Label>, IEquatable<Labels>, IComparable<Labels>
{
    public const string MetricName = "__name__";
    public static readonly Labels Empty = new([]);

    private readonly Label[] _labels;
    private readonly int _hash;

    private Labels(Label[] sorted)
    {
        _labels = sorted;
        var h = new HashCode();
        foreach (var l in sorted)
        {
            h.Add(l.Name, StringComparer.Ordinal);
            h.Add(l.Value, StringComparer.Ordinal);
        }
        _hash = h.ToHashCode();
    }

    /// <summary>Builds a label set from pairs; later duplicates win, empty values are dropped.</summary>
    public static Labels From(IEnumerable<Label> labels)
    {
        var list = new List<Label>();
        foreach (var l in labels)
        {
            var i = list.FindIndex(x => x.Name == l.Name);
            if (i >= 0) list.RemoveAt(i);
            if (l.Value.Length > 0) list.Add(l);
        }
        var arr = list.ToArray();
        Array.Sort(arr, static (a, b) => string.CompareOrdinal(a.Name, b.Name));
        return new Labels(arr);
    }

    /// <summary>Builds from name/value pairs: <c>Labels.Of("__name__", "up", "job", "api")</c>.</summary>
    public static Labels Of(params string[] nameValues)
    {
        if (nameValues.Length % 2 != 0) throw new ArgumentException("name/value pairs expected", nameof(nameValues));
        var list = new Label[nameValues.Length / 2];
        for (var i = 0; i < list.Length; i++) list[i] = new Label(nameValues[2 * i], nameValues[2 * i + 1]);
        return From(list);
    }

    /// <summary>Wraps an array already sorted by name with unique names and non-empty values (not checked).</summary>
    public static Labels FromSorted(Label[] sorted) => new(sorted);

    public int Count => _labels.Length;
    public Label this[int index] => _labels[index];
    public ReadOnlySpan<Label> AsSpan() => _labels;

    public string? Get(string name)
    {
        // Label sets are small: a linear scan beats a binary search below ~16 entries.
        foreach (var l in _labels)
            if (string.Equals(l.Name, name, StringComparison.Ordinal)) return l.Value;
        return null;
    }

    public string GetOrEmpty(string name) => Get(name) ?? "";
    public string? Name => Get(MetricName);
    public bool Has(string name) => Get(name) is not null;

    public Labels Without(params string[] names) => From(_labels.Where(l => Array.IndexOf(names, l.Name) < 0));
    public Labels WithoutName() => Has(MetricName) ? From(_labels.Where(l => l.Name != MetricName)) : this;
    public Labels Keep(IEnumerable<string> names)
    {
        var set = names as ISet<string> ?? new HashSet<string>(names, StringComparer.Ordinal);
        return From(_labels.Where(l => set.Contains(l.Name)));
    }
    public Labels With(string name, string value) => From(_labels.Append(new Label(name, value)));

    public IEnumerator<Label> GetEnumerator() => ((IEnumerable<Label>)_labels).GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public bool Equals(Labels? other)
    {
        if (ReferenceEquals(this, other)) return true;
        if (other is null || other._hash != _hash || other._labels.Length != _labels.Length) return false;
        for (var i = 0; i < _labels.Length; i++)
        {
            if (!string.Equals(_labels[i].Name, other._labels[i].Name, StringComparison.Ordinal) ||
                !string.Equals(_labels[i].Value, other._labels[i].Value, StringComparison.Ordinal)) return false;
        }
        return true;
    }

    public override bool Equals(object? obj) => obj is Labels l && Equals(l);
    public override int GetHashCode() => _hash;

    public int CompareTo(Labels? other)
    {
        if (other is null) return 1;
        var n = Math.Min(_labels.Length, other._labels.Length);
        for (var i = 0; i < n; i++)
        {
            var c = string.CompareOrdinal(_labels[i].Name, other._labels[i].Name);
            if (c != 0) return c;
            c = string.CompareOrdinal(_labels[i].Value, other._labels[i].Value);
            if (c != 0) return c;
        }
        return _labels.Length.CompareTo(other._labels.Length);
    }

    /// <summary>Appends <c>name="value"</c> with the value escaped as in Prometheus notation.</summary>
    internal static void AppendPair(StringBuilder sb, Label l)
    {
        sb.Append(l.Name).Append("=\"");
        foreach (var ch in l.Value)
        {
            switch (ch)
            {
                case '\\': sb.Append("\\\\"); break;
                case '"': sb.Append("\\\""); break;
                case '\n': sb.Append("\\n"); break;
                default: sb.Append(ch); break;
            }
        }
        sb.Append('"');
    }

    /// <summary>Prometheus notation: <c>up{instance="a", job="b"}</c>.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        var name = Name;
        if (name is not null) sb.Append(name);
        sb.Append('{');
        var first = true;
        foreach (var l in _labels)
        {
            if (l.Name == MetricName) continue;
            if (!first) sb.Append(", ");
            first = false;
            AppendPair(sb, l);
        }
        sb.Append('}');
        return sb.ToString();
    }

    public static bool operator ==(Labels? a, Labels? b) => a is null ? b is null : a.Equals(b);
    public static bool operator !=(Labels? a, Labels? b) => !(a == b);
    public static bool operator <(Labels a, Labels b) => a.CompareTo(b) < 0;
    public static bool operator >(Labels a, Labels b) => a.CompareTo(b) > 0;
    public static bool operator <=(Labels a, Labels b) => a.CompareTo(b) <= 0;
    public static bool operator >=(Labels a, Labels b) => a.CompareTo(b) >= 0;
}
