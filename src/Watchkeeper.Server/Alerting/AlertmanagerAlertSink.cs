using Watchkeeper.Alerting.Alerts;
using Watchkeeper.Metrics.Rules;

namespace Watchkeeper.Server.Alerting;

/// <summary>
/// The rule evaluator's alerts go to the in-process Alertmanager core, as Prometheus posts them to
/// <c>/api/v2/alerts</c>: same validation, merge and routing, no HTTP. Receiving only updates memory (no I/O).
/// </summary>
public sealed class AlertmanagerAlertSink(AlertingEngine engine, ILogger<AlertmanagerAlertSink> log) : IAlertSink
{
    public ValueTask SendAsync(IReadOnlyList<RuleAlert> alerts, CancellationToken ct)
    {
        if (alerts.Count == 0) return ValueTask.CompletedTask;
        var batch = new List<PostableAlert>(alerts.Count);
        foreach (var a in alerts)
        {
            var labels = new LabelDictionary.Builder(a.Labels.Count);
            foreach (var l in a.Labels) labels.Add(l.Name, l.Value);
            var annotations = new LabelDictionary.Builder(a.Annotations.Count);
            foreach (var l in a.Annotations) annotations.Add(l.Name, l.Value);
            batch.Add(new PostableAlert(labels.Build(), annotations.Build(), a.StartsAt, a.EndsAt, a.GeneratorUrl));
        }
        var errors = engine.Receive(batch);
        foreach (var e in errors) log.LogWarning("Alert {Index} from the rule evaluator rejected: {Reason}", e.Index, e.Reason);
        return ValueTask.CompletedTask;
    }
}
