using System.Text.Json;
using Watchkeeper.Alerting.Config;

namespace Watchkeeper.Alerting.Notify.Slack;

/// <summary>
/// Slack incoming webhook with Block Kit: a header block (the title), a section (the text, mrkdwn), a context block
/// (link and footer), and the top-level <c>text</c> as the fallback that notifications and old clients show.
/// Slack's limits are applied here: header 150 characters, section and context text 3000.
/// </summary>
public sealed class SlackNotifier(HttpClient http) : INotifier
{
    public const int HeaderMax = 150, SectionMax = 3000, FallbackMax = 4000;

    public string Kind => "slack";

    public async Task<NotifyOutcome> SendAsync(NotifyRequest request, CancellationToken ct)
    {
        var s = (SlackConfig)request.Config;
        var url = Integrations.Secret(s.ApiUrl, s.ApiUrlFile, "api_url");
        using var msg = new HttpRequestMessage(HttpMethod.Post, url) { Content = Webhook.WebhookNotifier.Json(Payload(request.Data, s, request.Templates)) };
        return await Webhook.WebhookNotifier.PostAsync(http, msg, s, TimeSpan.Zero, ct);
    }

    public static byte[] Payload(TemplateData d, SlackConfig s, INotificationTemplates t)
    {
        var title = t.Expand(s.Title ?? Tmpl("slack.default.title"), d).Trim();
        var link = t.Expand(s.TitleLink ?? Tmpl("slack.default.titlelink"), d).Trim();
        var pretext = t.Expand(s.Pretext ?? "", d).Trim();
        var text = t.Expand(s.Text ?? Tmpl("slack.default.text"), d).Trim();
        if (pretext.Length > 0) text = pretext + "\n" + text;
        var fallback = t.Expand(s.Fallback ?? Tmpl("slack.default.fallback"), d).Trim();
        var footer = t.Expand(s.Footer ?? Tmpl("slack.default.footer"), d).Trim();
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            Optional(w, "channel", t.Expand(s.Channel ?? "", d));
            Optional(w, "username", t.Expand(s.Username ?? "", d));
            Optional(w, "icon_emoji", t.Expand(s.IconEmoji ?? "", d));
            Optional(w, "icon_url", t.Expand(s.IconUrl ?? "", d));
            if (s.LinkNames) w.WriteBoolean("link_names", true);
            w.WriteString("text", HttpOutcome.Truncate(fallback.Length > 0 ? fallback : title, FallbackMax));
            w.WriteStartArray("blocks");
            if (title.Length > 0)
            {
                w.WriteStartObject();
                w.WriteString("type", "header");
                w.WriteStartObject("text");
                w.WriteString("type", "plain_text");
                w.WriteString("text", HttpOutcome.Truncate(title.ReplaceLineEndings(" "), HeaderMax));
                w.WriteBoolean("emoji", true);
                w.WriteEndObject();
                w.WriteEndObject();
            }
            if (text.Length > 0)
            {
                w.WriteStartObject();
                w.WriteString("type", "section");
                Mrkdwn(w, "text", HttpOutcome.Truncate(text, SectionMax));
                w.WriteEndObject();
            }
            var context = new List<string>();
            if (link.Length > 0) context.Add($"<{link}|Open in Watchkeeper>");
            if (footer.Length > 0) context.Add(footer);
            if (context.Count > 0)
            {
                w.WriteStartObject();
                w.WriteString("type", "context");
                w.WriteStartArray("elements");
                foreach (var c in context)
                {
                    w.WriteStartObject();
                    w.WriteString("type", "mrkdwn");
                    w.WriteString("text", HttpOutcome.Truncate(c, SectionMax));
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return ms.ToArray();
    }

    internal static string Tmpl(string name) => "{{ template \"" + name + "\" . }}";

    private static void Mrkdwn(Utf8JsonWriter w, string name, string text)
    {
        w.WriteStartObject(name);
        w.WriteString("type", "mrkdwn");
        w.WriteString("text", text);
        w.WriteEndObject();
    }

    private static void Optional(Utf8JsonWriter w, string name, string value)
    {
        if (!string.IsNullOrWhiteSpace(value)) w.WriteString(name, value.Trim());
    }
}
