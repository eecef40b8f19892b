using Watchkeeper.Metrics.Model;

namespace Watchkeeper.Metrics.Rules;

/// <summary>
/// An alert as the rule evaluator hands it on (Prometheus's notifier alert): labels (external labels added where
/// the alert has no label of that name), annotations, <c>startsAt</c> (when it started firing), <c>endsAt</c> (the
/// resolve time once resolved; while firing now + 4 x max(resend delay, evaluation interval), so a receiver resolves
/// it by itself if the evaluator stops sending) and the generator URL (a link to the expression).
/// </summary>
public sealed record RuleAlert(Labels Labels, Labels Annotations, DateTimeOffset StartsAt, DateTimeOffset EndsAt, string GeneratorUrl)
{
    /// <summary>Resolved: <see cref="EndsAt"/> is not in the future of <paramref name="now"/>.</summary>
    public bool IsResolvedAt(DateTimeOffset now) => EndsAt <= now;
}

/// <summary>
/// Receives batches of firing and resolved alerts after each evaluation of an alerting rule, as Prometheus sends to
/// Alertmanager. Called from the evaluation loop: an implementation queues rather than blocking on slow I/O.
/// </summary>
public interface IAlertSink
{
    ValueTask SendAsync(IReadOnlyList<RuleAlert> alerts, CancellationToken ct);
}

/// <summary>Sends every batch to each of several sinks; one failing sink does not stop the others.</summary>
public sealed class CompositeAlertSink(IReadOnlyList<IAlertSink> sinks, Action<string>? onError = null) : IAlertSink
{
    public IReadOnlyList<IAlertSink> Sinks { get; } = sinks;

    public async ValueTask SendAsync(IReadOnlyList<RuleAlert> alerts, CancellationToken ct)
    {
        foreach (var s in Sinks)
        {
            try
            {
                await s.SendAsync(alerts, ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                onError?.Invoke($"sending {alerts.Count} alerts to {s.GetType().Name} failed: {ex.Message}");
            }
        }
    }
}

public enum AlertState { Inactive, Pending, Firing }

/// <summary>An alert of one alerting rule, identified by its labels; mutable state owned by the rule's group loop.</summary>
public sealed class ActiveAlert(Labels labels)
{
    public Labels Labels { get; internal set; } = labels;
    public Labels Annotations { get; internal set; } = Labels.Empty;
    public AlertState State { get; internal set; }
    public double Value { get; internal set; }
    public DateTimeOffset ActiveAt { get; internal set; }
    public DateTimeOffset? FiredAt { get; internal set; }
    public DateTimeOffset? ResolvedAt { get; internal set; }
    public DateTimeOffset? LastSentAt { get; internal set; }
    public DateTimeOffset? KeepFiringSince { get; internal set; }
    public DateTimeOffset ValidUntil { get; internal set; }

    internal bool NeedsSending(DateTimeOffset ts, TimeSpan resendDelay)
    {
        if (State == AlertState.Pending) return false;
        // Resolved since the last send: send again (once), then every resend delay until dropped.
        if (ResolvedAt is { } r && (LastSentAt is null || r > LastSentAt)) return true;
        return LastSentAt is null || LastSentAt.Value + resendDelay < ts;
    }

    internal ActiveAlert Clone() => (ActiveAlert)MemberwiseClone();

    public static string StateName(AlertState s) => s switch
    {
        AlertState.Pending => "pending",
        AlertState.Firing => "firing",
        _ => "inactive",
    };
}
