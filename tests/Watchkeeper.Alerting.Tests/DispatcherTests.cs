using Watchkeeper.Alerting.Routing;
using Watchkeeper.Alerting.Silences;

namespace Watchkeeper.Alerting.Tests;

public sealed class DispatcherTests
{
    public const string Yaml = """
        route:
          receiver: team
          group_by: [alertname]
          group_wait: 30s
          group_interval: 5m
          repeat_interval: 4h
          routes:
            - matchers: ['severity="critical"']
              receiver: pager
              continue: true
            - matchers: ['severity=~"critical|warning"']
              receiver: team
        receivers:
          - name: team
            webhook_configs: [{url: 'http://127.0.0.1:9/hook'}]
          - name: pager
            webhook_configs: [{url: 'http://127.0.0.1:9/pd', send_resolved: false}]
        inhibit_rules:
          - source_matchers: [severity="critical"]
            target_matchers: [severity="warning"]
            equal: [service]
        """;

    private static readonly TimeSpan S = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan M = TimeSpan.FromMinutes(1);

    private static DateTimeOffset Far(Harness h) => h.Time.GetUtcNow().AddDays(2);

    [Fact]
    public void First_notification_waits_group_wait_then_only_changes_are_sent_on_group_interval()
    {
        using var h = new Harness(Yaml);
        h.Post(("alertname=Down,service=api,severity=warning", Far(h)));
        Assert.Empty(h.Advance(29 * S));
        var first = Assert.Single(h.Advance(S));
        Assert.Equal("team", first.Receiver);
        Assert.Equal("webhook_configs[0]", first.Integration);
        Assert.Equal("{}/{severity=~\"critical|warning\"}:{alertname=\"Down\"}", first.GroupKey);
        Assert.Equal("firing", first.Data.Status);
        Assert.Equal("Down", first.Data.GroupLabels["alertname"]);
        // Nothing changed: the group_interval tick sends nothing.
        Assert.Empty(h.Advance(5 * M));
        h.Post(("alertname=Down,service=web,severity=warning", Far(h)));
        Assert.Empty(h.Advance(4 * M));
        var second = Assert.Single(h.Advance(M));
        Assert.Equal(2, second.Data.Alerts.Count);
        Assert.Equal(new Dictionary<string, string> { ["alertname"] = "Down", ["severity"] = "warning" }, second.Data.CommonLabels);
    }

    [Fact]
    public void A_webhook_with_max_alerts_gets_only_that_many_alerts_their_common_labels_and_the_rest_counted()
    {
        using var h = new Harness("""
            route:
              receiver: hook
              group_by: [alertname]
              group_wait: 30s
            receivers:
              - name: hook
                webhook_configs: [{url: 'http://127.0.0.1:9/hook', max_alerts: 2}]
            """);
        h.Post(("alertname=Down,instance=a,zone=1", Far(h)), ("alertname=Down,instance=b,zone=1", Far(h)), ("alertname=Down,instance=c,zone=2", Far(h)),
            ("alertname=Down,instance=d,zone=2", Far(h)), ("alertname=Down,instance=e,zone=3", Far(h)));
        var n = Assert.Single(h.Advance(30 * S));
        // As Alertmanager's webhook: the first max_alerts in the group's order, the data (common labels too) of those.
        Assert.Equal(["a", "b"], n.Data.Alerts.Select(a => a.Labels["instance"]).ToArray());
        Assert.Equal(3, n.Data.TruncatedAlerts);
        Assert.Equal(new Dictionary<string, string> { ["alertname"] = "Down", ["zone"] = "1" }, n.Data.CommonLabels);
        var payload = System.Text.Json.JsonDocument.Parse(Watchkeeper.Alerting.Notify.Webhook.WebhookNotifier.Payload(n.Data, 2)).RootElement;
        Assert.Equal(2, payload.GetProperty("alerts").GetArrayLength());
        Assert.Equal(3, payload.GetProperty("truncatedAlerts").GetInt32());
    }

    [Fact]
    public void Unchanged_group_is_repeated_after_repeat_interval_on_the_next_tick()
    {
        using var h = new Harness(Yaml);
        h.Post(("alertname=Down,severity=warning", Far(h)));
        Assert.Single(h.Advance(30 * S));
        var sent = 0;
        for (var i = 0; i < 47; i++) sent += h.Advance(5 * M).Count;   // 3h55m after the first notification
        Assert.Equal(0, sent);
        Assert.Single(h.Advance(5 * M));                                 // 4h: repeat
    }

    [Fact]
    public void Resolved_alerts_are_sent_only_to_integrations_with_send_resolved()
    {
        using var h = new Harness(Yaml);
        var end = h.Time.GetUtcNow().AddMinutes(3);
        h.Post(("alertname=Down,severity=critical,service=api", end));
        var first = h.Advance(30 * S);
        Assert.Equal(["pager", "team"], first.Select(x => x.Receiver).Order());
        var resolved = h.Advance(5 * M);
        var item = Assert.Single(resolved);
        Assert.Equal("team", item.Receiver);
        Assert.Equal("resolved", item.Data.Status);
        Assert.NotNull(item.Data.Alerts[0].EndsAt);
        // The pager integration (send_resolved: false) recorded the resolution without sending.
        Assert.Contains(h.Nflog.Entries.Values, e => e.Receiver == "pager" && e.FiringAlerts.Count == 0 && e.ResolvedAlerts.Count == 1);
        // The resolved group is gone after it was flushed.
        Assert.Empty(h.Engine.Groups());
        Assert.Empty(h.Advance(5 * M));
    }

    [Fact]
    public void Alert_without_end_resolves_after_resolve_timeout()
    {
        using var h = new Harness(Yaml.Replace("route:", "global:\n  resolve_timeout: 2m\nroute:"));
        h.Post("alertname=Down,severity=warning");
        Assert.Single(h.Advance(30 * S));
        var resolved = Assert.Single(h.Advance(5 * M));
        Assert.Equal("resolved", resolved.Data.Status);
    }

    [Fact]
    public void Alert_older_than_group_wait_is_sent_without_waiting()
    {
        using var h = new Harness(Yaml);
        var errors = h.Engine.Receive([new(Harness.Labels("alertname=Old,severity=warning"), new Dictionary<string, string>(), h.Time.GetUtcNow().AddMinutes(-10), Far(h), "")]);
        Assert.Empty(errors);
        Assert.Single(h.Advance(TimeSpan.Zero));
    }

    [Fact]
    public void Inhibited_alerts_are_not_notified_while_the_source_fires_with_equal_labels()
    {
        using var h = new Harness(Yaml);
        h.Post(("alertname=Down,severity=critical,service=api", Far(h)), ("alertname=Slow,severity=warning,service=api", Far(h)), ("alertname=Slow2,severity=warning,service=web", Far(h)));
        var sent = h.Advance(30 * S);
        var teamAlerts = sent.Where(x => x.Receiver == "team").SelectMany(x => x.Data.Alerts).Select(a => a.Labels["alertname"]).Order().ToList();
        Assert.Equal(["Down", "Slow2"], teamAlerts);
        var slow = h.Engine.Store.Snapshot().Single(a => a.Labels["alertname"] == "Slow");
        Assert.Equal("suppressed", h.Engine.Status(slow).State);
        Assert.Single(h.Engine.Status(slow).InhibitedBy);
    }

    [Fact]
    public async Task Silenced_alerts_are_not_notified_and_the_silence_survives_a_restart()
    {
        var store = new MemorySilenceStore();
        using (var h = new Harness(Yaml, silences: store))
        {
            await h.Engine.Silences.SetAsync(new Silence("", new Matchers([MatcherParser.ParseSingle("alertname=Down")]), h.Time.GetUtcNow(), h.Time.GetUtcNow().AddHours(1), default, "ops", "maintenance"), default);
        }
        using var h2 = new Harness(Yaml, silences: store);
        h2.Post(("alertname=Down,severity=warning", Far(h2)), ("alertname=Up,severity=warning", Far(h2)));
        var sent = h2.Advance(30 * S);
        Assert.Equal(["Up"], sent.SelectMany(x => x.Data.Alerts).Select(a => a.Labels["alertname"]));
    }

    [Fact]
    public void Restart_between_flushes_neither_repeats_nor_forgets_a_notification()
    {
        var nflog = new MemoryNflog();
        using (var h = new Harness(Yaml, nflog))
        {
            h.Post(("alertname=Down,severity=warning", h.Time.GetUtcNow().AddDays(2)));
            Assert.Single(h.Advance(30 * S));
        }
        // A new process: the alert is sent again by Prometheus; the persisted log says it was notified.
        using var h2 = new Harness(Yaml, nflog);
        h2.Time.Advance(TimeSpan.FromMinutes(10));
        h2.Post(("alertname=Down,severity=warning", h2.Time.GetUtcNow().AddDays(2)));
        Assert.Empty(h2.Advance(30 * S));
        // A change after the restart is notified.
        h2.Post(("alertname=Down,severity=warning,instance=b", h2.Time.GetUtcNow().AddDays(2)));
        Assert.Single(h2.Advance(5 * M));
    }

    [Fact]
    public void Continue_sends_to_later_sibling_routes_too()
    {
        var cfg = Harness.Config(Yaml);
        var routes = cfg.Route!.Match(Harness.Labels("alertname=X,severity=critical"));
        Assert.Equal(["pager", "team"], routes.Select(r => r.Opts.Receiver));
        var info = cfg.Route.Match(Harness.Labels("alertname=X,severity=info"));
        Assert.Same(cfg.Route, Assert.Single(info));
    }

    [Fact]
    public void Group_by_ellipsis_groups_by_all_labels()
    {
        using var h = new Harness(Yaml.Replace("group_by: [alertname]", "group_by: ['...']"));
        h.Post(("alertname=Down,severity=warning,instance=a", Far(h)), ("alertname=Down,severity=warning,instance=b", Far(h)));
        Assert.Equal(2, h.Advance(30 * S).Count);
    }

    [Fact]
    public void Mute_and_active_time_intervals_hold_notifications_outside_their_windows()
    {
        var yaml = Yaml + """

            time_intervals:
              - name: business
                time_intervals:
                  - weekdays: ['monday:friday']
                    times: [{start_time: '09:00', end_time: '17:00'}]
                    location: Europe/London
            """;
        yaml = yaml.Replace("      receiver: pager\n      continue: true", "      receiver: pager\n      continue: true\n      active_time_intervals: [business]");
        // 2026-12-07 is a Monday; 10:00 UTC is 10:00 in London: inside business hours.
        using var h = new Harness(yaml);
        h.Post(("alertname=Down,severity=critical", Far(h)));
        Assert.Contains(h.Advance(30 * S), x => x.Receiver == "pager");
        using var night = new Harness(yaml);
        night.Time.Advance(TimeSpan.FromHours(9));   // 19:00 London
        night.Post(("alertname=Down,severity=critical", Far(night)));
        var sent = night.Advance(30 * S);
        Assert.DoesNotContain(sent, x => x.Receiver == "pager");
        Assert.Contains(sent, x => x.Receiver == "team");
    }
}
