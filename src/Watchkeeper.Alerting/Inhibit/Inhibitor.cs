using Watchkeeper.Alerting.Alerts;
using Watchkeeper.Alerting.Config;

namespace Watchkeeper.Alerting.Inhibit;

/// <summary>
/// Alertmanager's inhibitor: an alert matching a rule's target matchers is muted while a firing alert matching its
/// source matchers has the same values for the <c>equal</c> labels (a missing label equals a missing label). An
/// alert matching both sides is not inhibited by alerts that also match both sides.
/// </summary>
public sealed class Inhibitor(IReadOnlyList<InhibitRule> rules)
{
    private readonly Lock _gate = new();
    // Per rule: the source alerts by the values of their 'equal' labels.
    private readonly Dictionary<string, Dictionary<ulong, Alert>>[] _sources = [.. rules.Select(_ => new Dictionary<string, Dictionary<ulong, Alert>>(StringComparer.Ordinal))];
    private readonly Dictionary<ulong, string>[] _keys = [.. rules.Select(_ => new Dictionary<ulong, string>())];

    public IReadOnlyList<InhibitRule> Rules => rules;

    private static string EqualKey(InhibitRule r, IReadOnlyDictionary<string, string> labels)
    {
        if (r.Equal.Count == 0) return "";
        var sb = new System.Text.StringBuilder();
        foreach (var n in r.Equal) sb.Append(labels.TryGetValue(n, out var v) ? v : "").Append('\xff');
        return sb.ToString();
    }

    /// <summary>Records a new or updated alert as a possible source.</summary>
    public void Observe(Alert a)
    {
        if (rules.Count == 0) return;
        lock (_gate)
        {
            for (var i = 0; i < rules.Count; i++)
            {
                if (_keys[i].TryGetValue(a.Fingerprint, out var oldKey))
                {
                    _sources[i][oldKey].Remove(a.Fingerprint);
                    _keys[i].Remove(a.Fingerprint);
                }
                if (!rules[i].SourceMatchers.Matches(a.Labels)) continue;
                var key = EqualKey(rules[i], a.Labels);
                if (!_sources[i].TryGetValue(key, out var set)) _sources[i][key] = set = [];
                set[a.Fingerprint] = a;
                _keys[i][a.Fingerprint] = key;
            }
        }
    }

    /// <summary>Forgets an alert (garbage-collected from the store).</summary>
    public void Forget(ulong fingerprint)
    {
        lock (_gate)
        {
            for (var i = 0; i < rules.Count; i++)
            {
                if (!_keys[i].Remove(fingerprint, out var key)) continue;
                _sources[i][key].Remove(fingerprint);
                if (_sources[i][key].Count == 0) _sources[i].Remove(key);
            }
        }
    }

    /// <summary>The fingerprint of a firing alert that inhibits this label set, or null.</summary>
    public ulong? InhibitedBy(IReadOnlyDictionary<string, string> labels, DateTimeOffset now)
    {
        if (rules.Count == 0) return null;
        lock (_gate)
        {
            for (var i = 0; i < rules.Count; i++)
            {
                var r = rules[i];
                if (!r.TargetMatchers.Matches(labels)) continue;
                if (!_sources[i].TryGetValue(EqualKey(r, labels), out var set)) continue;
                var twoSided = r.SourceMatchers.Matches(labels);
                foreach (var (fp, a) in set)
                {
                    if (a.Resolved(now)) continue;
                    if (twoSided && r.TargetMatchers.Matches(a.Labels)) continue;
                    return fp;
                }
            }
        }
        return null;
    }
}
