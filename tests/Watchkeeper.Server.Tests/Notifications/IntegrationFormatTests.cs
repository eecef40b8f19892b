using Watchkeeper.Alerting.Config;
using Watchkeeper.Alerting.Notify;
using Watchkeeper.Server.Notifications;

namespace Watchkeeper.Server.Tests.Notifications;

/// <summary>Each HTTP integration through the real sender to a loopback endpoint that checks the provider's published format.</summary>
public sealed class IntegrationFormatTests
{
    private const string RoutingKey = "0123456789abcdef0123456789abcdef";

    private static async Task<(TestServer Server, LoopbackReceiver Hook)> StartAsync(Func<LoopbackReceiver, ReceiverConfig> receiver)
    {
        var hook = await LoopbackReceiver.StartAsync();
        var s = await NotifyFixture.StartAsync(false, [receiver(hook)]);
        return (s, hook);
    }

    [Fact]
    public async Task Slack_gets_Block_Kit_blocks_with_fallback_text_and_a_429_Retry_After_is_honoured()
    {
        var (s, hook) = await StartAsync(h => NotifyFixture.Receiver("chat", new SlackConfig { ApiUrl = h.Url("/services/T0/B0/x"), Channel = "#ops", SendResolved = true }));
        await using var _ = s;
        await using var __ = hook;
        var first = true;
        hook.Respond = _ =>
        {
            if (!first) return (200, "ok", null);
            first = false;
            return (429, "rate_limited", new Dictionary<string, string> { ["Retry-After"] = "30" });
        };
        var id = await NotifyFixture.EnqueueAsync(s, NotifyFixture.Item(s, "chat", "slack_configs[0]", NotifyFixture.Data("chat", alerts: 3)));
        Assert.Equal(1, await s.Get<NotificationSender>().RunOnceAsync());
        var row = await NotifyFixture.RowAsync(s, id);
        Assert.Equal((OutboxStatus.Pending, (int?)429), (row.Status, row.LastStatusCode));
        Assert.Equal(s.Time.GetUtcNow() + TimeSpan.FromSeconds(30), row.NextAttemptAt);
        s.Time.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(1, await s.Get<NotificationSender>().RunOnceAsync());
        Assert.Equal(OutboxStatus.Delivered, (await NotifyFixture.RowAsync(s, id)).Status);

        var body = hook.Requests.Last().Json;
        SlackFormat.AssertBlockKit(body);
        Assert.Equal("#ops", body.GetProperty("channel").GetString());
        Assert.Equal("[FIRING:3] ServiceDown on api-service (critical)", body.GetProperty("text").GetString());
        var blocks = body.GetProperty("blocks").EnumerateArray().ToList();
        Assert.Equal("header", blocks[0].GetProperty("type").GetString());
        Assert.Contains("Service api-service is down on host-2", blocks[1].GetProperty("text").GetProperty("text").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Slack_text_over_the_section_limit_is_cut_to_3000_characters()
    {
        var (s, hook) = await StartAsync(h => NotifyFixture.Receiver("chat", new SlackConfig { ApiUrl = h.Url(), Text = "{{ range .Alerts }}{{ .Annotations.summary }} {{ end }}" }));
        await using var _ = s;
        await using var __ = hook;
        await NotifyFixture.EnqueueAsync(s, NotifyFixture.Item(s, "chat", "slack_configs[0]", NotifyFixture.Data("chat", alerts: 200)));
        await s.Get<NotificationSender>().RunOnceAsync();
        var body = Assert.Single(hook.Requests).Json;
        SlackFormat.AssertBlockKit(body);
        Assert.Equal(3000, body.GetProperty("blocks")[1].GetProperty("text").GetProperty("text").GetString()!.Length);
    }

    [Fact]
    public async Task PagerDuty_triggers_resolves_and_acknowledges_with_one_stable_dedup_key_and_mapped_severity()
    {
        var (s, hook) = await StartAsync(h => NotifyFixture.Receiver("pager", new PagerDutyConfig { RoutingKey = RoutingKey, Url = h.Url("/v2/enqueue"), SendResolved = true }));
        await using var _ = s;
        await using var __ = hook;
        hook.Respond = _ => (202, """{"status":"success","message":"Event processed","dedup_key":"x"}""", null);
        var firing = NotifyFixture.Data("pager");
        await NotifyFixture.EnqueueAsync(s, NotifyFixture.Item(s, "pager", "pagerduty_configs[0]", firing));
        await NotifyFixture.EnqueueAsync(s, NotifyFixture.Item(s, "pager", "pagerduty_configs[0]", firing) with { Action = "acknowledge" });
        await NotifyFixture.EnqueueAsync(s, NotifyFixture.Item(s, "pager", "pagerduty_configs[0]", NotifyFixture.Data("pager", status: "resolved")));
        // One group's notifications go out one at a time, oldest first: a pass takes only the oldest pending one.
        Assert.Equal(1, await s.Get<NotificationSender>().RunOnceAsync());
        Assert.Equal(1, await s.Get<NotificationSender>().RunOnceAsync());
        Assert.Equal(1, await s.Get<NotificationSender>().RunOnceAsync());
        Assert.Equal(0, await s.Get<NotificationSender>().RunOnceAsync());

        var events = hook.Requests.ToList();
        Assert.Equal(3, events.Count);
        foreach (var e in events) PagerDutyFormat.AssertEvent(e.Json, e.Body);
        Assert.Equal(["trigger", "acknowledge", "resolve"], events.Select(e => e.Json.GetProperty("event_action").GetString()));
        Assert.Single(events.Select(e => e.Json.GetProperty("dedup_key").GetString()).Distinct());
        Assert.Equal(NotificationOutbox.DedupKeyFor(firing.GroupKey), events[0].Json.GetProperty("dedup_key").GetString());
        var payload = events[0].Json.GetProperty("payload");
        Assert.Equal("critical", payload.GetProperty("severity").GetString());
        Assert.Equal("Watchkeeper", events[0].Json.GetProperty("client").GetString());
        Assert.Equal("1", payload.GetProperty("custom_details").GetProperty("num_firing").GetString());
    }

    [Fact]
    public async Task PagerDuty_summary_is_cut_to_1024_characters_and_an_event_over_512_KB_loses_its_details_first()
    {
        var (s, hook) = await StartAsync(h => NotifyFixture.Receiver("pager", new PagerDutyConfig
        {
            RoutingKey = RoutingKey, Url = h.Url(), Description = "{{ range .Alerts }}{{ .Annotations.summary }}{{ end }}",
            Details = new Dictionary<string, string> { ["everything"] = "{{ range .Alerts }}{{ .Annotations.description }}{{ end }}" },
        }));
        await using var _ = s;
        await using var __ = hook;
        hook.Respond = _ => (202, "{}", null);
        var data = NotifyFixture.Data("pager", alerts: 300);
        var big = new string('x', 3000);
        data = data with { Alerts = [.. data.Alerts.Select(a => a with { Annotations = new Dictionary<string, string>(a.Annotations) { ["description"] = big } })] };
        await NotifyFixture.EnqueueAsync(s, NotifyFixture.Item(s, "pager", "pagerduty_configs[0]", data));
        await s.Get<NotificationSender>().RunOnceAsync();
        var e = Assert.Single(hook.Requests);
        PagerDutyFormat.AssertEvent(e.Json, e.Body);
        Assert.Equal(1024, e.Json.GetProperty("payload").GetProperty("summary").GetString()!.Length);
        Assert.Contains("custom_details removed", e.Json.GetProperty("payload").GetProperty("custom_details").GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Teams_gets_an_Adaptive_Card_through_the_workflow_URL()
    {
        var (s, hook) = await StartAsync(h => NotifyFixture.Receiver("teams", new MsTeamsV2Config { WebhookUrl = h.Url("/workflows/1"), SendResolved = true }));
        await using var _ = s;
        await using var __ = hook;
        hook.Respond = _ => (202, "", null);
        await NotifyFixture.EnqueueAsync(s, NotifyFixture.Item(s, "teams", "msteamsv2_configs[0]"));
        await s.Get<NotificationSender>().RunOnceAsync();
        var body = Assert.Single(hook.Requests).Json;
        TeamsFormat.AssertAdaptiveCard(body);
        var card = body.GetProperty("attachments")[0].GetProperty("content");
        Assert.Equal("[FIRING:1] ServiceDown on api-service (critical)", card.GetProperty("body")[0].GetProperty("text").GetString());
        Assert.Contains("Service api-service is down on host-0", card.GetProperty("body")[1].GetProperty("text").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Webhook_max_alerts_truncates_and_counts_the_rest_in_truncatedAlerts()
    {
        var (s, hook) = await StartAsync(h => NotifyFixture.Receiver("hook", new WebhookConfig { Url = h.Url(), MaxAlerts = 3 }));
        await using var _ = s;
        await using var __ = hook;
        await NotifyFixture.EnqueueAsync(s, NotifyFixture.Item(s, "hook", "webhook_configs[0]", NotifyFixture.Data("hook", alerts: 5)));
        await s.Get<NotificationSender>().RunOnceAsync();
        WebhookFormat.AssertVersion4(Assert.Single(hook.Requests).Json, expectedAlerts: 3, truncated: 2);
    }
}
