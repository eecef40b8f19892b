using System.Collections.ObjectModel;
using System.Text;
using Watchkeeper.Alerting.Notify;
using Watchkeeper.Metrics.Templates;

namespace Watchkeeper.Alerting.Templates;

/// <summary>
/// Exposes <see cref="TemplateData"/> to the template engine with Alertmanager's names: <c>.Receiver</c>,
/// <c>.Status</c>, <c>.Alerts</c> (with <c>.Firing</c>/<c>.Resolved</c>), <c>.GroupLabels</c>, <c>.CommonLabels</c>,
/// <c>.CommonAnnotations</c> (label sets with <c>.SortedPairs</c>, <c>.Names</c>, <c>.Values</c>, <c>.Remove</c>),
/// <c>.ExternalURL</c>, <c>.GroupKey</c>, <c>.TruncatedAlerts</c>.
/// </summary>
public sealed class NotificationTemplateData(TemplateData data) : ITemplateObject
{
    private AlertCollection? _alerts;
    public TemplateData Data { get; } = data;
    public string GoTypeName => "*template.Data";

    public bool TryGetField(string name, out object? value)
    {
        value = name switch
        {
            "Receiver" => Data.Receiver,
            "Status" => Data.Status,
            "Alerts" => _alerts ??= new AlertCollection(Data.Alerts.Select(a => (object?)new TemplateAlertView(a)).ToList()),
            "GroupLabels" => new LabelSetDictionary(Data.GroupLabels),
            "CommonLabels" => new LabelSetDictionary(Data.CommonLabels),
            "CommonAnnotations" => new LabelSetDictionary(Data.CommonAnnotations),
            "ExternalURL" => Data.ExternalUrl,
            "GroupKey" => Data.GroupKey,
            "TruncatedAlerts" => (long)Data.TruncatedAlerts,
            _ => null,
        };
        return name is "Receiver" or "Status" or "Alerts" or "GroupLabels" or "CommonLabels" or "CommonAnnotations" or
            "ExternalURL" or "GroupKey" or "TruncatedAlerts";
    }
}

/// <summary>One alert (<c>template.Alert</c>): <c>.Status</c>, <c>.Labels</c>, <c>.Annotations</c>, <c>.StartsAt</c>, <c>.EndsAt</c>, <c>.GeneratorURL</c>, <c>.Fingerprint</c>.</summary>
public sealed class TemplateAlertView(TemplateAlert alert) : ITemplateObject
{
    public TemplateAlert Alert { get; } = alert;
    public string GoTypeName => "template.Alert";

    public bool TryGetField(string name, out object? value)
    {
        value = name switch
        {
            "Status" => Alert.Status,
            "Labels" => new LabelSetDictionary(Alert.Labels),
            "Annotations" => new LabelSetDictionary(Alert.Annotations),
            "StartsAt" => Alert.StartsAt,
            // Alertmanager's zero time when no end is known.
            "EndsAt" => Alert.EndsAt ?? new DateTimeOffset(1, 1, 1, 0, 0, 0, TimeSpan.Zero),
            "GeneratorURL" => Alert.GeneratorUrl,
            "Fingerprint" => Alert.Fingerprint,
            _ => null,
        };
        return name is "Status" or "Labels" or "Annotations" or "StartsAt" or "EndsAt" or "GeneratorURL" or "Fingerprint";
    }
}

/// <summary>Alertmanager's <c>template.Alerts</c>: a list with <c>.Firing</c> and <c>.Resolved</c>.</summary>
public sealed class AlertCollection(IList<object?> alerts) : ReadOnlyCollection<object?>(alerts), ITemplateObject
{
    public string GoTypeName => "template.Alerts";

    public bool TryGetField(string name, out object? value)
    {
        value = null;
        return false;
    }

    public TemplateFunction? GetMethod(string name) => name switch
    {
        "Firing" => new TemplateFunction("Firing", (_, _) => Filter("firing"), []),
        "Resolved" => new TemplateFunction("Resolved", (_, _) => Filter("resolved"), []),
        _ => null,
    };

    private AlertCollection Filter(string status) =>
        new(this.Where(a => a is TemplateAlertView v && v.Alert.Status == status).ToList());

    public override string ToString()
    {
        var sb = new StringBuilder();
        GoFmt.AppendValue(sb, this.ToList());
        return sb.ToString();
    }
}

/// <summary>Alertmanager's <c>template.KV</c>: a label set (a map) with <c>SortedPairs</c>, <c>Names</c>, <c>Values</c> and <c>Remove</c>.</summary>
public sealed class LabelSetDictionary(IReadOnlyDictionary<string, string> map) : IReadOnlyDictionary<string, string>, ITemplateObject
{
    private readonly IReadOnlyDictionary<string, string> _map = map;
    public string GoTypeName => "template.KV";

    public string this[string key] => _map[key];
    public IEnumerable<string> Keys => _map.Keys;
    public IEnumerable<string> Values => _map.Values;
    public int Count => _map.Count;
    public bool ContainsKey(string key) => _map.ContainsKey(key);
    public bool TryGetValue(string key, out string value) => _map.TryGetValue(key, out value!);
    public IEnumerator<KeyValuePair<string, string>> GetEnumerator() => _map.GetEnumerator();
    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    public bool TryGetField(string name, out object? value)
    {
        value = null;
        return false;
    }

    /// <summary>The pairs sorted by name, with <c>alertname</c> first as Alertmanager orders them.</summary>
    public PairCollection SortedPairs()
    {
        var keys = _map.Keys.Where(k => k != "alertname").Order(StringComparer.Ordinal).ToList();
        if (_map.ContainsKey("alertname")) keys.Insert(0, "alertname");
        return new PairCollection(keys.Select(k => (object?)new Pair(k, _map[k])).ToList());
    }

    public TemplateFunction? GetMethod(string name) => name switch
    {
        "SortedPairs" => new TemplateFunction("SortedPairs", (_, _) => SortedPairs(), []),
        "Names" => new TemplateFunction("Names", (_, _) => SortedPairs().Names(), []),
        "Values" => new TemplateFunction("Values", (_, _) => SortedPairs().ValueList(), []),
        "Remove" => new TemplateFunction("Remove", (_, a) =>
        {
            var drop = (IReadOnlyList<string>?)a[0] ?? [];
            return new LabelSetDictionary(_map.Where(kv => !drop.Contains(kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal));
        }, [ParamKind.StringSlice]),
        _ => null,
    };
}

/// <summary>Alertmanager's <c>template.Pair</c>.</summary>
public sealed record Pair(string Name, string Value) : ITemplateObject
{
    public string GoTypeName => "template.Pair";

    public bool TryGetField(string name, out object? value)
    {
        value = name switch { "Name" => Name, "Value" => Value, _ => null };
        return name is "Name" or "Value";
    }

    public override string ToString() => "{" + Name + " " + Value + "}";
}

/// <summary>Alertmanager's <c>template.Pairs</c>: printed as <c>name=value, name=value</c>, with <c>Names</c> and <c>Values</c>.</summary>
public sealed class PairCollection(IList<object?> pairs) : ReadOnlyCollection<object?>(pairs), ITemplateObject
{
    public string GoTypeName => "template.Pairs";

    public bool TryGetField(string name, out object? value)
    {
        value = null;
        return false;
    }

    public IReadOnlyList<string> Names() => this.Select(p => ((Pair)p!).Name).ToList();
    public IReadOnlyList<string> ValueList() => this.Select(p => ((Pair)p!).Value).ToList();

    public TemplateFunction? GetMethod(string name) => name switch
    {
        "Names" => new TemplateFunction("Names", (_, _) => Names(), []),
        "Values" => new TemplateFunction("Values", (_, _) => ValueList(), []),
        "String" => new TemplateFunction("String", (_, _) => ToString(), []),
        _ => null,
    };

    public override string ToString() => string.Join(", ", this.Select(p => ((Pair)p!).Name + "=" + ((Pair)p!).Value));
}
