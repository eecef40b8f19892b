using Watchkeeper.Alerting.Alerts;
using Watchkeeper.Alerting.Config;
using Watchkeeper.Alerting.Inhibit;
using Watchkeeper.Alerting.Notify;
using Watchkeeper.Alerting.Routing;
using Watchkeeper.Alerting.Silences;

namespace Watchkeeper.Alerting.Dispatch;

/// <summary>An aggregation group as the API shows it.</summary>
public sealed record GroupSnapshot(Route Route, string GroupKey, IReadOnlyDictionary<string, string> Labels, IReadOnlyList<Alert> Alerts);

/// <summary>
/// Alertmanager's dispatcher: routes each alert to aggregation groups (per route and group labels) and flushes each
/// group first <c>group_wait</c> after it was created (at once for an alert older than that), then every
/// <c>group_interval</c>. A flush drops inhibited and silenced alerts, honours mute/active time intervals, and per
/// integration asks the notification log whether the group changed (or <c>repeat_interval</c> passed) before it
/// commits a notification. Timers are driven by <see cref="FlushDueAsync"/> against the injected <see cref="TimeProvider"/>.
/// </summary>
public sealed class Dispatcher(AlertmanagerConfig config, SilenceBook silences, Inhibitor inhibitor, INotificationLog nflog, TimeProvider time, string externalUrl) : IDisposable
{
    public void Dispose() => _flushing.Dispose();

    private sealed class Group(Route route, string key, Dictionary<string, string> labels, DateTimeOffset next, ulong hash)
    {
        /// <summary>The hash of the group labels this group is indexed by in <see cref="_index"/>.</summary>
        public ulong Hash { get; } = hash;
        public Route Route { get; } = route;
        public string Key { get; } = key;
        public Dictionary<string, string> Labels { get; } = labels;
        public Dictionary<ulong, Alert> Alerts { get; } = [];
        public DateTimeOffset Next { get; set; } = next;
        public bool HasFlushed { get; set; }
    }

    private readonly Lock _gate = new();
    private readonly Dictionary<string, Group> _groups = new(StringComparer.Ordinal);
    // The same groups by route and a hash of their group labels, so an alert for an existing group is placed without
    // building its group key; a hash collision (labels differ) falls back to the key.
    private readonly Dictionary<(Route Route, ulong Hash), Group> _index = [];
    private readonly Dictionary<string, NflogEntry> _log = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _flushing = new(1, 1);

    /// <summary>How long notification-log entries are kept (Alertmanager's <c>--data.retention</c>).</summary>
    public TimeSpan Retention { get; init; } = TimeSpan.FromHours(120);

    public AlertmanagerConfig Config => config;

    /// <summary>
    /// Loads the persisted notification log; call before the first flush, and again before flushing after another
    /// replica may have notified (a replica that becomes the leader), so nothing it sent is sent again.
    /// </summary>
    public async Task LoadAsync(CancellationToken ct)
    {
        var entries = await nflog.LoadAsync(ct);
        lock (_gate)
        {
            foreach (var e in entries)
                if (!_log.TryGetValue(e.Key, out var cur) || cur.Timestamp <= e.Timestamp) _log[e.Key] = e;
        }
    }

    /// <summary>
    /// For a replica that does not flush (a follower): drops alerts resolved longer than the group's
    /// <c>group_interval</c> plus <paramref name="keep"/> ago, and groups left empty, as a flush would have.
    /// Returns the alerts dropped.
    /// </summary>
    public int DropResolved(TimeSpan keep)
    {
        var now = time.GetUtcNow();
        var dropped = 0;
        lock (_gate)
        {
            foreach (var (k, g) in _groups.ToList())
            {
                foreach (var a in g.Alerts.Values.Where(a => a.Resolved(now) && a.EndsAt + g.Route.Opts.GroupInterval + keep <= now).ToList())
                {
                    g.Alerts.Remove(a.Fingerprint);
                    dropped++;
                }
                if (g.Alerts.Count == 0) _groups.Remove(k);
            }
        }
        return dropped;
    }

    /// <summary>The routes an alert goes to (none without a routing tree).</summary>
    public List<Route> Routes(IReadOnlyDictionary<string, string> labels) => config.Route?.Match(labels) ?? [];

    /// <summary>
    /// Inserts a new or updated alert into the groups of every route it matches. Returns true when a group became
    /// due sooner than before (a new group, or an old alert that skips group_wait), so the timer loop can wake.
    /// </summary>
    public bool Put(Alert alert)
    {
        if (config.Route is null) return false;
        var routes = config.Route.Match(alert.Labels);
        var now = time.GetUtcNow();
        var sooner = false;
        lock (_gate)
        {
            foreach (var r in routes)
            {
                var hash = GroupHash(r.Opts, alert);
                if (!_index.TryGetValue((r, hash), out var g) || !SameGroup(g, r.Opts, alert.Labels))
                {
                    var labels = r.Opts.GroupLabels(alert.Labels);
                    var key = r.Key + ":" + LabelSets.Format(labels);
                    var mapKey = r.Id + "\n" + key;
                    if (!_groups.TryGetValue(mapKey, out g))
                    {
                        // A new group waits group_wait before its first notification (a short one is kept as given).
                        _groups[mapKey] = g = new Group(r, key, labels, now + r.Opts.GroupWait, hash);
                        _index.TryAdd((r, hash), g);
                        sooner = true;
                    }
                }
                g.Alerts[alert.Fingerprint] = alert;
                // An alert that started more than group_wait ago is sent without waiting.
                if (!g.HasFlushed && alert.StartsAt + r.Opts.GroupWait < now && g.Next > now)
                {
                    g.Next = now;
                    sooner = true;
                }
            }
        }
        return sooner;
    }

    /// <summary>A hash of the labels <paramref name="opts"/> groups <paramref name="alert"/> by (the alert's fingerprint with <c>...</c>).</summary>
    private static ulong GroupHash(RouteOpts opts, Alert alert)
    {
        if (opts.GroupByAll) return alert.Fingerprint;
        var h = 14695981039346656037UL;
        foreach (var n in opts.GroupBy)
        {
            if (!alert.Labels.TryGetValue(n, out var v) || v.Length == 0) continue;
            h = (LabelSets.Add(h, n) ^ 0xff) * 1099511628211UL;
            h = (LabelSets.Add(h, v) ^ 0xff) * 1099511628211UL;
        }
        return h;
    }

    /// <summary>True when <paramref name="labels"/> group into <paramref name="g"/> (the same group labels).</summary>
    private static bool SameGroup(Group g, RouteOpts opts, IReadOnlyDictionary<string, string> labels)
    {
        if (opts.GroupByAll)
        {
            if (g.Labels.Count != labels.Count) return false;
            foreach (var (k, v) in labels)
                if (!g.Labels.TryGetValue(k, out var gv) || !string.Equals(gv, v, StringComparison.Ordinal)) return false;
            return true;
        }
        var n = 0;
        foreach (var name in opts.GroupBy)
        {
            if (!labels.TryGetValue(name, out var v) || v.Length == 0) continue;
            if (!g.Labels.TryGetValue(name, out var gv) || !string.Equals(gv, v, StringComparison.Ordinal)) return false;
            n++;
        }
        return n == g.Labels.Count;
    }

    /// <summary>The earliest time a group is due, or null when there are no groups.</summary>
    public DateTimeOffset? NextDue
    {
        get
        {
            lock (_gate)
            {
                DateTimeOffset? min = null;
                foreach (var g in _groups.Values)
                    if (min is null || g.Next < min) min = g.Next;
                return min;
            }
        }
    }

    /// <summary>Aggregation groups held (Alertmanager's <c>alertmanager_dispatcher_aggregation_groups</c>).</summary>
    public int GroupCount
    {
        get { lock (_gate) return _groups.Count; }
    }

    public IReadOnlyList<GroupSnapshot> Groups()
    {
        List<(Group Group, List<Alert> Alerts)> groups;
        lock (_gate)
        {
            // Copied under the lock, sorted outside it (a sort of a large group must not hold up alerts being placed).
            groups = [.. _groups.Values.Select(g => (g, g.Alerts.Values.ToList()))];
        }
        return [.. groups.Select(p => new GroupSnapshot(p.Group.Route, p.Group.Key, p.Group.Labels, SortInPlace(p.Alerts)))];
    }

    /// <summary>Flushes every group that is due now; returns the number of notifications committed.</summary>
    public async Task<int> FlushDueAsync(CancellationToken ct)
    {
        await _flushing.WaitAsync(ct);
        try
        {
            var now = time.GetUtcNow();
            List<(string MapKey, Group Group, List<Alert> Alerts)> due = [];
            lock (_gate)
            {
                foreach (var (k, g) in _groups)
                {
                    if (g.Next > now) continue;
                    g.Next = now + g.Route.Opts.GroupInterval;
                    g.HasFlushed = true;
                    due.Add((k, g, g.Alerts.Values.ToList()));
                }
            }
            // Sorted outside the lock: a flush of large groups must not hold up alerts being placed.
            foreach (var d in due) SortInPlace(d.Alerts);
            var sent = 0;
            foreach (var (mapKey, g, alerts) in due)
            {
                sent += await FlushAsync(g, alerts, now, ct);
                // After a successful flush, resolved alerts that did not change meanwhile leave the group; an empty group ends.
                lock (_gate)
                {
                    foreach (var a in alerts)
                        if (a.Resolved(now) && g.Alerts.TryGetValue(a.Fingerprint, out var cur) && ReferenceEquals(cur, a)) g.Alerts.Remove(a.Fingerprint);
                    if (g.Alerts.Count == 0)
                    {
                        _groups.Remove(mapKey);
                        if (_index.TryGetValue((g.Route, g.Hash), out var indexed) && ReferenceEquals(indexed, g)) _index.Remove((g.Route, g.Hash));
                    }
                }
            }
            return sent;
        }
        finally
        {
            _flushing.Release();
        }
    }

    private async Task<int> FlushAsync(Group g, List<Alert> alerts, DateTimeOffset now, CancellationToken ct)
    {
        var opts = g.Route.Opts;
        if (opts.ActiveTimeIntervals.Count > 0 && !opts.ActiveTimeIntervals.Any(n => config.TimeIntervals[n].ContainsTime(now))) return 0;
        if (opts.MuteTimeIntervals.Any(n => config.TimeIntervals[n].ContainsTime(now))) return 0;
        var kept = alerts.Where(a => inhibitor.InhibitedBy(a.Labels, now) is null && silences.Mutes(a.Labels).Count == 0).ToList();
        if (kept.Count == 0) return 0;
        var receiver = config.Receiver(opts.Receiver);
        if (receiver is null) return 0;
        var firing = kept.Where(a => !a.Resolved(now)).Select(a => a.Fingerprint).ToHashSet();
        var resolved = kept.Where(a => a.Resolved(now)).Select(a => a.Fingerprint).ToHashSet();
        var sent = 0;
        foreach (var (name, integration) in receiver.Integrations())
        {
            var logKey = receiver.Name + "\n" + name + "\n" + g.Key;
            NflogEntry? entry;
            lock (_gate) entry = _log.GetValueOrDefault(logKey);
            if (!NflogEntry.NeedsUpdate(entry, firing, resolved, integration.SendResolved, opts.RepeatInterval, now)) continue;
            var toSend = integration.SendResolved ? kept : kept.Where(a => !a.Resolved(now)).ToList();
            // A webhook with max_alerts sends only that many and counts the rest (its data, common labels included, is of the
            // alerts it sends, as Alertmanager's): the outbox keeps no more than is sent.
            var max = integration is WebhookConfig { MaxAlerts: > 0 } w ? w.MaxAlerts : int.MaxValue;
            var item = toSend.Count == 0 ? null : new OutboxItem(receiver.Name, name, g.Key, toSend.Count > max
                ? Data(receiver.Name, g, toSend.GetRange(0, max), now) with { TruncatedAlerts = toSend.Count - max }
                : Data(receiver.Name, g, toSend, now), now);
            var next = new NflogEntry(receiver.Name, name, g.Key, firing, resolved, now, now + Retention);
            await nflog.CommitAsync(next, item, ct);
            lock (_gate) _log[logKey] = next;
            if (item is not null) sent++;
        }
        return sent;
    }

    /// <summary>Drops expired notification-log entries.</summary>
    public async Task GcAsync(CancellationToken ct)
    {
        var now = time.GetUtcNow();
        lock (_gate)
        {
            foreach (var k in _log.Where(p => p.Value.ExpiresAt <= now).Select(p => p.Key).ToList()) _log.Remove(k);
        }
        await nflog.DeleteExpiredAsync(now, ct);
    }

    private TemplateData Data(string receiver, Group g, List<Alert> alerts, DateTimeOffset now)
    {
        var list = alerts.Select(a => new TemplateAlert(a.Resolved(now) ? "resolved" : "firing", a.Labels, a.Annotations, a.StartsAt,
            a.Resolved(now) ? a.EndsAt : null, a.GeneratorUrl, LabelSets.FormatFingerprint(a.Fingerprint))).ToList();
        return new TemplateData(receiver, list.Any(a => a.Status == "firing") ? "firing" : "resolved", list, Sorted(g.Labels),
            Common(alerts.Select(a => a.Labels)), Common(alerts.Select(a => a.Annotations)), externalUrl, g.Key);
    }

    private static SortedDictionary<string, string> Sorted(IReadOnlyDictionary<string, string> d) => new(d.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal), StringComparer.Ordinal);

    /// <summary>The pairs every set has with the same value.</summary>
    private static SortedDictionary<string, string> Common(IEnumerable<IReadOnlyDictionary<string, string>> sets)
    {
        SortedDictionary<string, string>? common = null;
        foreach (var s in sets)
        {
            if (common is null) { common = Sorted(s); continue; }
            foreach (var k in common.Keys.ToList())
                if (!s.TryGetValue(k, out var v) || v != common[k]) common.Remove(k);
        }
        return common ?? new SortedDictionary<string, string>(StringComparer.Ordinal);
    }

    /// <summary>Alertmanager's alert order: by <c>job</c>, then <c>instance</c>, then the label set.</summary>
    public static List<Alert> Sort(IEnumerable<Alert> alerts) => SortInPlace(alerts.ToList());

    /// <summary>
    /// Sorts <paramref name="list"/> in <see cref="Sort"/>'s order and returns it. Each alert's <c>job</c> and
    /// <c>instance</c> are looked up once (not per comparison), and its label-set text only when those tie.
    /// </summary>
    private static List<Alert> SortInPlace(List<Alert> list)
    {
        if (list.Count < 2) return list;
        var keys = new SortKey[list.Count];
        var items = list.ToArray();
        for (var i = 0; i < items.Length; i++) keys[i] = new SortKey(items[i]);
        Array.Sort(keys, items, SortKey.Comparer);
        list.Clear();
        list.AddRange(items);
        return list;
    }

    private sealed class SortKey(Alert alert)
    {
        public static readonly IComparer<SortKey> Comparer = Comparer<SortKey>.Create(Compare);

        private readonly string? _job = alert.Labels.TryGetValue("job", out var j) ? j : null;
        private readonly string? _instance = alert.Labels.TryGetValue("instance", out var i) ? i : null;
        private string? _text;

        private string Text => _text ??= LabelSets.Format(alert.Labels);

        private static int Compare(SortKey? a, SortKey? b)
        {
            if (ReferenceEquals(a, b)) return 0;
            if (a is null || b is null) return a is null ? -1 : 1;
            var c = ByLabel(a._job, b._job);
            if (c != 0) return c;
            c = ByLabel(a._instance, b._instance);
            return c != 0 ? c : string.CompareOrdinal(a.Text, b.Text);
        }

        /// <summary>Different values in ordinal order; an alert with the label before one without it; else a tie.</summary>
        private static int ByLabel(string? a, string? b)
        {
            if (a is not null && b is not null) return string.Equals(a, b, StringComparison.Ordinal) ? 0 : string.CompareOrdinal(a, b);
            if (a is null == b is null) return 0;
            return a is not null ? -1 : 1;
        }
    }
}
