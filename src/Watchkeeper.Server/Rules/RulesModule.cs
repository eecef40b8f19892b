using Watchkeeper.Metrics.Rules;
using Watchkeeper.Server.Platform;
using Watchkeeper.Server.Rules.Ui;
using Watchkeeper.Server.Web;

namespace Watchkeeper.Server.Rules;

/// <summary>Prometheus rule evaluation: the runtime and its worker, the rules and alerts API, self-metrics and the rules page.</summary>
public static class RulesModule
{
    public static void AddRules(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<RulesRuntime>();
        builder.Services.AddHostedService<RulesWorker>();
        builder.Services.AddNavItem(new NavItem("rules", "Rules", "/rules", 320));
    }

    public static void MapRules(this WebApplication app)
    {
        var runtime = app.Services.GetRequiredService<RulesRuntime>();
        app.Services.GetRequiredService<SelfMetrics>().AddCollector((w, _) =>
        {
            WriteMetrics(w, runtime);
            return Task.CompletedTask;
        });
        app.MapRulesApi();
        app.MapPages().RequireAuthorization(Policies.Viewer)
            .MapGet("/rules", (HttpContext http, RulesRuntime rules, TimeProvider time, string? state) => RulesPage.Handle(http, rules, time, state));
    }

    /// <summary>Prometheus's rule group and notifier metrics, named watchkeeper_* as the rest of /metrics.</summary>
    private static void WriteMetrics(MetricsWriter w, RulesRuntime runtime)
    {
        var groups = runtime.Manager?.Groups ?? [];
        string[] l = ["rule_group"];
        void Family(string name, string help, string type, Func<RuleGroup, double> value)
        {
            w.Header(name, help, type);
            foreach (var g in groups) w.Sample(name, l, [g.Key], value(g));
        }
        Family("watchkeeper_rule_evaluations_total", "Rule evaluations.", "counter", g => Interlocked.Read(ref g.Evaluations));
        Family("watchkeeper_rule_evaluation_failures_total", "Rule evaluations that failed.", "counter", g => Interlocked.Read(ref g.EvaluationFailures));
        Family("watchkeeper_rule_group_iterations_total", "Scheduled evaluations of the group.", "counter", g => Interlocked.Read(ref g.Iterations));
        Family("watchkeeper_rule_group_iterations_missed_total", "Evaluations skipped because the previous one ran too long.", "counter",
            g => Interlocked.Read(ref g.IterationsMissed));
        Family("watchkeeper_rule_group_interval_seconds", "The group's evaluation interval.", "gauge", g => g.Interval.TotalSeconds);
        Family("watchkeeper_rule_group_last_duration_seconds", "Duration of the group's last evaluation.", "gauge", g => g.EvaluationTime.TotalSeconds);
        Family("watchkeeper_rule_group_last_evaluation_timestamp_seconds", "When the group was last evaluated.", "gauge",
            g => g.LastEvaluation is { } t ? t.ToUnixTimeMilliseconds() / 1000.0 : 0);
        Family("watchkeeper_rule_group_last_evaluation_samples", "Samples the group's last evaluation returned.", "gauge", g => g.LastSamples);
        Family("watchkeeper_rule_group_rules", "Rules in the group.", "gauge", g => g.Rules.Count);
        if (runtime.External is { } ext)
        {
            string[] am = ["alertmanager"];
            w.Header("watchkeeper_notifications_sent_total", "Alerts sent to each external Alertmanager.", "counter");
            foreach (var t in ext.Targets) w.Sample("watchkeeper_notifications_sent_total", am, [t.AlertsUrl.ToString()], ext.Sent.GetValueOrDefault(t.AlertsUrl.ToString()));
            w.Header("watchkeeper_notifications_errors_total", "Alerts that failed to reach each external Alertmanager.", "counter");
            foreach (var t in ext.Targets) w.Sample("watchkeeper_notifications_errors_total", am, [t.AlertsUrl.ToString()], ext.Errors.GetValueOrDefault(t.AlertsUrl.ToString()));
            w.Header("watchkeeper_notifications_dropped_total", "Alerts dropped because the send queue was full.", "counter");
            w.Sample("watchkeeper_notifications_dropped_total", [], [], ext.Dropped);
            w.Header("watchkeeper_notifications_queue_length", "Alerts waiting to be sent.", "gauge");
            w.Sample("watchkeeper_notifications_queue_length", [], [], ext.QueueLength);
            w.Header("watchkeeper_notifications_queue_capacity", "Capacity of the send queue.", "gauge");
            w.Sample("watchkeeper_notifications_queue_capacity", [], [], ext.Capacity);
        }
    }
}
