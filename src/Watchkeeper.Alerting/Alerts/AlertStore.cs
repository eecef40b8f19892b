using System.Text;

namespace Watchkeeper.Alerting.Alerts;

/// <summary>An alert as a client posts it (Alertmanager's <c>postableAlert</c>).</summary>
public sealed record PostableAlert(
    IReadOnlyDictionary<string, string> Labels,
    IReadOnlyDictionary<string, string> Annotations,
    DateTimeOffset? StartsAt,
    DateTimeOffset? EndsAt,
    string GeneratorUrl);

/// <summary>One rejected alert of a batch, by its index in the batch.</summary>
public sealed record AlertError(int Index, string Reason);

/// <summary>Limits on what alerts may hold and how many may be active.</summary>
public sealed record AlertLimits
{
    public int MaxBatch { get; init; } = 10_000;
    public int MaxLabels { get; init; } = 64;
    public int MaxLabelNameLength { get; init; } = 256;
    public int MaxLabelValueLength { get; init; } = 4096;
    /// <summary>Total bytes of an alert's annotations (names and values).</summary>
    public int MaxAnnotationBytes { get; init; } = 64 * 1024;
    public int MaxGeneratorUrlLength { get; init; } = 4096;
    /// <summary>Alerts held at once; a new alert beyond this is rejected (updates of held ones are accepted).</summary>
    public int MaxAlerts { get; init; } = 1_000_000;
}

/// <summary>
/// The active alerts in memory (Alertmanager's provider/mem): each received alert is merged with the one of the same
/// fingerprint when their activity overlaps; alerts without an end get receive time plus <c>resolve_timeout</c>;
/// resolved alerts are garbage-collected.
/// </summary>
public sealed class AlertStore(TimeProvider time, AlertLimits? limits = null)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<ulong, Alert> _alerts = [];

    public AlertLimits Limits { get; } = limits ?? new AlertLimits();

    public int Count
    {
        get { lock (_gate) return _alerts.Count; }
    }

    public List<Alert> Snapshot()
    {
        lock (_gate) return [.. _alerts.Values];
    }

    public Alert? Get(ulong fingerprint)
    {
        lock (_gate) return _alerts.GetValueOrDefault(fingerprint);
    }

    /// <summary>Validates one posted alert; null when valid, else the reason.</summary>
    public string? Validate(PostableAlert a)
    {
        if (a.Labels.Count == 0) return "at least one label pair required";
        if (a.Labels.Count > Limits.MaxLabels) return $"too many labels: {a.Labels.Count} (limit: {Limits.MaxLabels})";
        foreach (var (k, v) in a.Labels)
        {
            if (k.Length == 0) return "empty label name";
            if (k.Length > Limits.MaxLabelNameLength) return $"label name \"{k[..32]}...\" longer than {Limits.MaxLabelNameLength} characters";
            if (v.Length == 0) return $"empty value for label \"{k}\"";
            if (v.Length > Limits.MaxLabelValueLength) return $"value of label \"{k}\" longer than {Limits.MaxLabelValueLength} characters";
        }
        var bytes = 0;
        foreach (var (k, v) in a.Annotations)
        {
            if (k.Length == 0) return "empty annotation name";
            bytes += Encoding.UTF8.GetByteCount(k) + Encoding.UTF8.GetByteCount(v);
        }
        if (bytes > Limits.MaxAnnotationBytes) return $"annotations total {bytes} bytes (limit: {Limits.MaxAnnotationBytes})";
        if (a.GeneratorUrl.Length > Limits.MaxGeneratorUrlLength) return $"generatorURL longer than {Limits.MaxGeneratorUrlLength} characters";
        if (a.StartsAt is { } s && a.EndsAt is { } e && e < s) return "start time must be before end time";
        return null;
    }

    /// <summary>
    /// Stores the valid alerts of a batch (Alertmanager's API processing and merge) and returns them as stored, with
    /// the errors of the invalid ones by index.
    /// </summary>
    public (List<Alert> Stored, List<AlertError> Errors) Put(IReadOnlyList<PostableAlert> batch, TimeSpan resolveTimeout)
    {
        var now = time.GetUtcNow();
        var stored = new List<Alert>(batch.Count);
        var errors = new List<AlertError>();
        lock (_gate)
        {
            for (var i = 0; i < batch.Count; i++)
            {
                var p = batch[i];
                if (Validate(p) is { } reason) { errors.Add(new AlertError(i, reason)); continue; }
                DateTimeOffset starts, ends;
                var timeout = false;
                if (p.StartsAt is { } s) starts = s;
                else starts = p.EndsAt ?? now;
                if (p.EndsAt is { } e) ends = e;
                else
                {
                    ends = now + resolveTimeout;
                    timeout = true;
                }
                // Held compactly: sorted arrays with shared strings instead of the posted dictionaries.
                var alert = new Alert(LabelDictionary.From(p.Labels), LabelDictionary.From(p.Annotations), starts, ends, StringPool.Get(p.GeneratorUrl), now, timeout);
                if (_alerts.TryGetValue(alert.Fingerprint, out var old))
                {
                    if ((alert.EndsAt > old.StartsAt && alert.EndsAt < old.EndsAt) || (alert.StartsAt > old.StartsAt && alert.StartsAt < old.EndsAt)
)
                        alert = old.Merge(alert, now);
                }
                else if (_alerts.Count >= Limits.MaxAlerts)
                {
                    errors.Add(new AlertError(i, $"too many alerts held (limit: {Limits.MaxAlerts})"));
                    continue;
                }
                _alerts[alert.Fingerprint] = alert;
                stored.Add(alert);
            }
        }
        return (stored, errors);
    }

    /// <summary>Removes resolved alerts; returns their fingerprints.</summary>
    public List<ulong> Gc()
    {
        var now = time.GetUtcNow();
        lock (_gate)
        {
            var gone = _alerts.Where(p => p.Value.Resolved(now)).Select(p => p.Key).ToList();
            foreach (var fp in gone) _alerts.Remove(fp);
            return gone;
        }
    }
}
