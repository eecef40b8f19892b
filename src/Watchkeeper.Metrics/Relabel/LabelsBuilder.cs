using Watchkeeper.Metrics.Model;

namespace Watchkeeper.Metrics.Relabel;

/// <summary>A mutable label set for relabeling and target label assembly. Empty values mean "absent".</summary>
public sealed class LabelsBuilder
{
    private readonly List<Label> _labels = new(16);

    public LabelsBuilder() { }

    public LabelsBuilder(Labels labels) => Reset(labels);

    /// <summary>True once Set or Delete has changed something since the last Reset.</summary>
    public bool Changed { get; private set; }

    public int Count => _labels.Count;

    public void Reset(Labels labels)
    {
        _labels.Clear();
        foreach (var l in labels.AsSpan()) _labels.Add(l);
        Changed = false;
    }

    public void Clear()
    {
        _labels.Clear();
        Changed = false;
    }

    public string? Get(string name)
    {
        for (var i = 0; i < _labels.Count; i++)
            if (string.Equals(_labels[i].Name, name, StringComparison.Ordinal)) return _labels[i].Value;
        return null;
    }

    public void Set(string name, string value)
    {
        if (value.Length == 0)
        {
            Delete(name);
            return;
        }
        for (var i = 0; i < _labels.Count; i++)
        {
            if (string.Equals(_labels[i].Name, name, StringComparison.Ordinal))
            {
                if (!string.Equals(_labels[i].Value, value, StringComparison.Ordinal))
                {
                    _labels[i] = new Label(name, value);
                    Changed = true;
                }
                return;
            }
        }
        _labels.Add(new Label(name, value));
        Changed = true;
    }

    public void Delete(string name)
    {
        for (var i = 0; i < _labels.Count; i++)
        {
            if (string.Equals(_labels[i].Name, name, StringComparison.Ordinal))
            {
                _labels.RemoveAt(i);
                Changed = true;
                return;
            }
        }
    }

    /// <summary>Removes every label whose name starts with the prefix.</summary>
    public void DeletePrefix(string prefix)
    {
        for (var i = _labels.Count - 1; i >= 0; i--)
        {
            if (_labels[i].Name.StartsWith(prefix, StringComparison.Ordinal))
            {
                _labels.RemoveAt(i);
                Changed = true;
            }
        }
    }

    public Label[] Snapshot() => [.. _labels];

    public Labels ToLabels()
    {
        var arr = _labels.ToArray();
        Array.Sort(arr, static (a, b) => string.CompareOrdinal(a.Name, b.Name));
        return Labels.FromSorted(arr);
    }
}
