using System.Text.Json;
using Watchkeeper.Alerting.Config;

namespace Watchkeeper.Alerting.Notify.MsTeams;

/// <summary>
/// Microsoft Teams through a workflow URL: a message whose one attachment is an Adaptive Card (schema version 1.4)
/// with the title as a heading, coloured by status, and the text as a wrapped text block (Teams renders its markdown
/// subset). Workflows answer 202 Accepted.
/// </summary>
public sealed class MsTeamsV2Notifier(HttpClient http) : INotifier
{
    public const string CardContentType = "application/vnd.microsoft.card.adaptive";
    /// <summary>Teams refuses messages over about 28 KB; the text is cut to keep the card under it.</summary>
    public const int TextMax = 20_000;

    public string Kind => "msteamsv2";

    public async Task<NotifyOutcome> SendAsync(NotifyRequest request, CancellationToken ct)
    {
        var s = (MsTeamsV2Config)request.Config;
        var url = Integrations.Secret(s.WebhookUrl, s.WebhookUrlFile, "webhook_url");
        using var msg = new HttpRequestMessage(HttpMethod.Post, url) { Content = Webhook.WebhookNotifier.Json(Payload(request.Data, s, request.Templates)) };
        return await Webhook.WebhookNotifier.PostAsync(http, msg, s, TimeSpan.Zero, ct);
    }

    public static byte[] Payload(TemplateData d, MsTeamsV2Config s, INotificationTemplates t)
    {
        var title = t.Expand(s.Title ?? Slack.SlackNotifier.Tmpl("msteamsv2.default.title"), d).Trim();
        var text = HttpOutcome.Truncate(t.Expand(s.Text ?? Slack.SlackNotifier.Tmpl("msteamsv2.default.text"), d).Trim(), TextMax);
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            w.WriteString("type", "message");
            w.WriteStartArray("attachments");
            w.WriteStartObject();
            w.WriteString("contentType", CardContentType);
            w.WriteNull("contentUrl");
            w.WriteStartObject("content");
            w.WriteString("$schema", "http://adaptivecards.io/schemas/adaptive-card.json");
            w.WriteString("type", "AdaptiveCard");
            w.WriteString("version", "1.4");
            w.WriteStartArray("body");
            w.WriteStartObject();
            w.WriteString("type", "TextBlock");
            w.WriteString("text", title);
            w.WriteString("weight", "Bolder");
            w.WriteString("size", "Medium");
            w.WriteString("style", "heading");
            w.WriteString("color", d.Status == "firing" ? "Attention" : "Good");
            w.WriteBoolean("wrap", true);
            w.WriteEndObject();
            if (text.Length > 0)
            {
                w.WriteStartObject();
                w.WriteString("type", "TextBlock");
                w.WriteString("text", text);
                w.WriteBoolean("wrap", true);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            if (d.ExternalUrl.Length > 0)
            {
                w.WriteStartArray("actions");
                w.WriteStartObject();
                w.WriteString("type", "Action.OpenUrl");
                w.WriteString("title", "Open in Watchkeeper");
                w.WriteString("url", d.ExternalUrl);
                w.WriteEndObject();
                w.WriteEndArray();
            }
            w.WriteStartObject("msteams");
            w.WriteString("width", "Full");
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return ms.ToArray();
    }
}
