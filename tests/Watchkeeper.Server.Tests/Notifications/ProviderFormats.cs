using System.Text.Json;

namespace Watchkeeper.Server.Tests.Notifications;

/// <summary>Checks of each provider's published request format: field names, required fields, types and sizes.</summary>
public static class WebhookFormat
{
    /// <summary>Alertmanager's webhook payload, version 4.</summary>
    public static void AssertVersion4(JsonElement p, int expectedAlerts, int truncated)
    {
        Assert.Equal("4", p.GetProperty("version").GetString());
        foreach (var k in new[] { "receiver", "status", "externalURL", "groupKey" }) Assert.Equal(JsonValueKind.String, p.GetProperty(k).ValueKind);
        Assert.Contains(p.GetProperty("status").GetString(), new[] { "firing", "resolved" });
        foreach (var k in new[] { "groupLabels", "commonLabels", "commonAnnotations" }) AssertStringMap(p.GetProperty(k));
        Assert.Equal(truncated, p.GetProperty("truncatedAlerts").GetInt32());
        var alerts = p.GetProperty("alerts");
        Assert.Equal(expectedAlerts, alerts.GetArrayLength());
        foreach (var a in alerts.EnumerateArray())
        {
            Assert.Contains(a.GetProperty("status").GetString(), new[] { "firing", "resolved" });
            AssertStringMap(a.GetProperty("labels"));
            AssertStringMap(a.GetProperty("annotations"));
            foreach (var k in new[] { "startsAt", "endsAt" }) Assert.True(DateTimeOffset.TryParse(a.GetProperty(k).GetString(), System.Globalization.CultureInfo.InvariantCulture, out _), k);
            Assert.Equal(JsonValueKind.String, a.GetProperty("generatorURL").ValueKind);
            Assert.Matches("^[0-9a-f]{16}$", a.GetProperty("fingerprint").GetString()!);
        }
        Assert.Equal(10, p.EnumerateObject().Count());
    }

    public static void AssertStringMap(JsonElement e)
    {
        Assert.Equal(JsonValueKind.Object, e.ValueKind);
        foreach (var x in e.EnumerateObject()) Assert.Equal(JsonValueKind.String, x.Value.ValueKind);
    }
}

public static class SlackFormat
{
    /// <summary>An incoming-webhook message with Block Kit blocks and the top-level fallback text (Slack's limits: header 150, section 3000, 50 blocks).</summary>
    public static void AssertBlockKit(JsonElement p)
    {
        Assert.False(string.IsNullOrWhiteSpace(p.GetProperty("text").GetString()));
        var blocks = p.GetProperty("blocks");
        Assert.InRange(blocks.GetArrayLength(), 1, 50);
        foreach (var b in blocks.EnumerateArray())
        {
            switch (b.GetProperty("type").GetString())
            {
                case "header":
                    Assert.Equal("plain_text", b.GetProperty("text").GetProperty("type").GetString());
                    Assert.InRange(b.GetProperty("text").GetProperty("text").GetString()!.Length, 1, 150);
                    break;
                case "section":
                    Assert.Equal("mrkdwn", b.GetProperty("text").GetProperty("type").GetString());
                    Assert.InRange(b.GetProperty("text").GetProperty("text").GetString()!.Length, 1, 3000);
                    break;
                case "context":
                    var els = b.GetProperty("elements");
                    Assert.InRange(els.GetArrayLength(), 1, 10);
                    foreach (var el in els.EnumerateArray()) Assert.Equal("mrkdwn", el.GetProperty("type").GetString());
                    break;
                default:
                    Assert.Fail("unexpected block type " + b.GetProperty("type").GetString());
                    break;
            }
        }
    }
}

public static class PagerDutyFormat
{
    /// <summary>An Events API v2 event: routing_key (32 chars), event_action, dedup_key ≤ 255, and for trigger the payload's required fields.</summary>
    public static void AssertEvent(JsonElement p, string body)
    {
        Assert.True(System.Text.Encoding.UTF8.GetByteCount(body) <= 512 * 1024, "event over 512 KB");
        Assert.Equal(32, p.GetProperty("routing_key").GetString()!.Length);
        var action = p.GetProperty("event_action").GetString();
        Assert.Contains(action, new[] { "trigger", "acknowledge", "resolve" });
        Assert.InRange(p.GetProperty("dedup_key").GetString()!.Length, 1, 255);
        if (action != "trigger")
        {
            Assert.False(p.TryGetProperty("payload", out _));
            return;
        }
        var pl = p.GetProperty("payload");
        Assert.InRange(pl.GetProperty("summary").GetString()!.Length, 1, 1024);
        Assert.False(string.IsNullOrWhiteSpace(pl.GetProperty("source").GetString()));
        Assert.Contains(pl.GetProperty("severity").GetString(), new[] { "critical", "error", "warning", "info" });
        if (pl.TryGetProperty("timestamp", out var ts)) Assert.True(DateTimeOffset.TryParse(ts.GetString(), System.Globalization.CultureInfo.InvariantCulture, out _));
        if (pl.TryGetProperty("custom_details", out var cd)) Assert.Equal(JsonValueKind.Object, cd.ValueKind);
    }
}

public static class TeamsFormat
{
    /// <summary>A workflow message with one Adaptive Card attachment.</summary>
    public static void AssertAdaptiveCard(JsonElement p)
    {
        Assert.Equal("message", p.GetProperty("type").GetString());
        var att = Assert.Single(p.GetProperty("attachments").EnumerateArray());
        Assert.Equal("application/vnd.microsoft.card.adaptive", att.GetProperty("contentType").GetString());
        var card = att.GetProperty("content");
        Assert.Equal("AdaptiveCard", card.GetProperty("type").GetString());
        Assert.Matches(@"^1\.[0-6]$", card.GetProperty("version").GetString()!);
        Assert.Equal("http://adaptivecards.io/schemas/adaptive-card.json", card.GetProperty("$schema").GetString());
        var body = card.GetProperty("body");
        Assert.True(body.GetArrayLength() >= 1);
        foreach (var b in body.EnumerateArray())
        {
            Assert.Equal("TextBlock", b.GetProperty("type").GetString());
            Assert.False(string.IsNullOrWhiteSpace(b.GetProperty("text").GetString()));
        }
    }
}
