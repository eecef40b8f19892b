using Watchkeeper.Alerting.Config;
using Watchkeeper.Alerting.Dispatch;
using Watchkeeper.Alerting.Inhibit;
using Watchkeeper.Alerting.Routing;
using Watchkeeper.Alerting.Silences;

namespace Watchkeeper.Alerting.Alerts;

/// <summary>Why an alert is or is not notified right now (Alertmanager's alert status).</summary>
public sealed record AlertStatus(IReadOnlyList<string> SilencedBy, IReadOnlyList<string> InhibitedBy, IReadOnlyList<string> Receivers)
{
    public string State => SilencedBy.Count > 0 || InhibitedBy.Count > 0 ? "suppressed" : "active";
}

/// <summary>
/// Alertmanager's core in one object: the alert store, silences, inhibitor and dispatcher for the running
/// configuration. <see cref="Receive"/> is the one entry for alerts (the API and the rule evaluator);
/// <see cref="ApplyConfigAsync"/> swaps the configuration and re-routes the held alerts.
/// </summary>
public sealed class AlertingEngine(AlertStore store, SilenceBook silences, INotificationLog nflog, TimeProvider time, string externalUrl) : IDisposable
{
    private Dispatcher? _dispatcher;
    private Inhibitor _inhibitor = new([]);
    private AlertmanagerConfig _config = new();

    public AlertStore Store => store;
    public SilenceBook Silences => silences;
    public AlertmanagerConfig Config => _config;
    public Dispatcher? Dispatcher => _dispatcher;
    public TimeProvider Time => time;

    /// <summary>Loads silences and the notification log, and routes with <paramref name="config"/>.</summary>
    public async Task StartAsync(AlertmanagerConfig config, CancellationToken ct)
    {
        await silences.LoadAsync(ct);
        await ApplyConfigAsync(config, ct);
    }

    public async Task ApplyConfigAsync(AlertmanagerConfig config, CancellationToken ct)
    {
        var inhibitor = new Inhibitor(config.InhibitRules);
        var dispatcher = new Dispatcher(config, silences, inhibitor, nflog, time, externalUrl);
        await dispatcher.LoadAsync(ct);
        foreach (var a in store.Snapshot())
        {
            inhibitor.Observe(a);
            dispatcher.Put(a);
        }
        _config = config;
        _inhibitor = inhibitor;
        var old = Interlocked.Exchange(ref _dispatcher, dispatcher);
        old?.Dispose();
    }

    /// <summary>Stores and routes a batch; returns the invalid alerts by index (the valid ones are kept).</summary>
    public IReadOnlyList<AlertError> Receive(IReadOnlyList<PostableAlert> batch)
    {
        var (stored, errors) = store.Put(batch, _config.Global.ResolveTimeout);
        var inhibitor = _inhibitor;
        var dispatcher = _dispatcher;
        var sooner = false;
        foreach (var a in stored)
        {
            inhibitor.Observe(a);
            sooner |= dispatcher?.Put(a) ?? false;
        }
        if (sooner) Interlocked.Exchange(ref _groupDue, NewSignal()).TrySetResult();
        return errors;
    }

    private TaskCompletionSource _groupDue = NewSignal();

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// Completes when a received alert makes a group due sooner than before (a new group with a short
    /// <c>group_wait</c>), so the timer loop wakes at once instead of at its next tick. Take it before flushing.
    /// </summary>
    public Task GroupDue => Volatile.Read(ref _groupDue).Task;

    public AlertStatus Status(Alert a)
    {
        var now = time.GetUtcNow();
        var silenced = silences.Mutes(a.Labels);
        var by = _inhibitor.InhibitedBy(a.Labels, now);
        var receivers = (_config.Route?.Match(a.Labels) ?? []).Select(r => r.Opts.Receiver).Distinct().ToList();
        return new AlertStatus(silenced, by is { } fp ? [LabelSets.FormatFingerprint(fp)] : [], receivers);
    }

    public IReadOnlyList<GroupSnapshot> Groups() => _dispatcher?.Groups() ?? [];

    /// <summary>
    /// Before the first flush of a replica that just became the leader: re-reads the silences and the notification log
    /// the previous leader wrote to the shared store, so its notifications are not repeated and its silences mute.
    /// </summary>
    public async Task ResumeAsLeaderAsync(CancellationToken ct)
    {
        await silences.SyncAsync(ct);
        if (_dispatcher is { } d) await d.LoadAsync(ct);
    }

    /// <summary>A follower's stand-in for flushing: resolved alerts leave the groups (see <see cref="Dispatcher.DropResolved"/>).</summary>
    public int DropResolved(TimeSpan keep) => _dispatcher?.DropResolved(keep) ?? 0;

    /// <summary>Flushes due groups; returns notifications committed.</summary>
    public Task<int> FlushDueAsync(CancellationToken ct) => _dispatcher?.FlushDueAsync(ct) ?? Task.FromResult(0);

    /// <summary>Garbage collection: resolved alerts, old silences, expired notification-log entries.</summary>
    public async Task GcAsync(CancellationToken ct)
    {
        var gone = store.Gc();
        foreach (var fp in gone) _inhibitor.Forget(fp);
        await silences.GcAsync(ct);
        if (_dispatcher is { } d) await d.GcAsync(ct);
    }

    public IReadOnlyList<string> ReceiverNames => [.. _config.Receivers.Select(r => r.Name)];

    public List<Route> Routes(IReadOnlyDictionary<string, string> labels) => _config.Route?.Match(labels) ?? [];

    public void Dispose() => _dispatcher?.Dispose();
}
