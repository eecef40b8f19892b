using System.Text;
using System.Text.Json;
using Watchkeeper.Alerting.Config;

namespace Watchkeeper.Alerting.Notify.PagerDuty;

/// <summary>
/// PagerDuty Events API v2: <c>trigger</c> while any alert of the group fires, <c>resolve</c> when all are resolved,
/// <c>acknowledge</c> when asked (an acknowledgement in Watchkeeper), all with the group's stable <c>dedup_key</c> so
/// PagerDuty folds repeats and a redelivery into one incident. Limits from PagerDuty's documentation: summary 1024
/// characters, the whole event 512 KB (custom_details are dropped first, then the event is refused).
/// </summary>
public sealed class PagerDutyNotifier(HttpClient http) : INotifier
{
    public const int SummaryMax = 1024;
    public const int PayloadMax = 512 * 1024;
    public const int DedupKeyMax = 255;
    public const string DefaultUrl = "https://events.pagerduty.com/v2/enqueue";

    public string Kind => "pagerduty";

    public async Task<NotifyOutcome> SendAsync(NotifyRequest request, CancellationToken ct)
    {
        var s = (PagerDutyConfig)request.Config;
        byte[] body;
        try
        {
            var key = Integrations.Secret(s.RoutingKey, s.RoutingKeyFile, "routing_key");
            body = Payload(request.Data, s, key, request.Templates, request.DedupKey, request.Action);
        }
        catch (InvalidOperationException ex)
        {
            return NotifyOutcome.Failed(null, ex.Message, retryable: false);
        }
        using var msg = new HttpRequestMessage(HttpMethod.Post, string.IsNullOrWhiteSpace(s.Url) ? DefaultUrl : s.Url)
        {
            Content = Webhook.WebhookNotifier.Json(body),
        };
        return await Webhook.WebhookNotifier.PostAsync(http, msg, s, TimeSpan.Zero, ct);
    }

    /// <summary>The event action: an explicit one (acknowledge), else resolve when every alert is resolved, else trigger.</summary>
    public static string Action(TemplateData d, string? requested) =>
        requested is "acknowledge" or "resolve" or "trigger" ? requested : d.Status == "resolved" ? "resolve" : "trigger";

    /// <summary>PagerDuty knows four severities; common spellings of the alert's severity label are mapped onto them.</summary>
    public static string MapSeverity(string s) => s.Trim().ToLowerInvariant() switch
    {
        "critical" or "crit" or "page" or "fatal" or "emergency" or "sev1" or "p1" => "critical",
        "error" or "err" or "high" or "major" or "sev2" or "p2" => "error",
        "warning" or "warn" or "medium" or "minor" or "sev3" or "p3" => "warning",
        "info" or "informational" or "low" or "none" or "sev4" or "p4" or "p5" => "info",
        _ => "error",
    };

    public static byte[] Payload(TemplateData d, PagerDutyConfig s, string routingKey, INotificationTemplates t, string dedupKey, string? requestedAction)
    {
        var action = Action(d, requestedAction);
        var summary = HttpOutcome.Truncate(t.Expand(s.Description ?? Slack.SlackNotifier.Tmpl("pagerduty.default.description"), d).Trim(), SummaryMax);
        if (summary.Length == 0) summary = "(no description)";
        var client = t.Expand(s.Client ?? Slack.SlackNotifier.Tmpl("pagerduty.default.client"), d).Trim();
        var clientUrl = t.Expand(s.ClientUrl ?? Slack.SlackNotifier.Tmpl("pagerduty.default.clientURL"), d).Trim();
        var source = t.Expand(s.Source ?? "", d).Trim();
        if (source.Length == 0) source = client.Length > 0 ? client : "watchkeeper";
        var details = new SortedDictionary<string, string>(StringComparer.Ordinal);
        if (s.Details.Count == 0)
        {
            details["num_firing"] = d.Alerts.Count(a => a.Status == "firing").ToString(System.Globalization.CultureInfo.InvariantCulture);
            details["num_resolved"] = d.Alerts.Count(a => a.Status == "resolved").ToString(System.Globalization.CultureInfo.InvariantCulture);
            details["firing"] = Instances(d, "firing");
            details["resolved"] = Instances(d, "resolved");
        }
        else
        {
            foreach (var (k, v) in s.Details) details[k] = t.Expand(v, d);
        }
        var body = Write(d, s, routingKey, t, action, dedupKey, summary, client, clientUrl, source, details);
        if (body.Length > PayloadMax)
        {
            details = new(StringComparer.Ordinal) { ["error"] = $"custom_details removed: the event was {body.Length} bytes, over PagerDuty's {PayloadMax}" };
            body = Write(d, s, routingKey, t, action, dedupKey, summary, client, clientUrl, source, details);
            if (body.Length > PayloadMax) throw new InvalidOperationException($"the PagerDuty event is {body.Length} bytes, over the {PayloadMax} byte limit");
        }
        return body;
    }

    private static byte[] Write(TemplateData d, PagerDutyConfig s, string routingKey, INotificationTemplates t, string action, string dedupKey, string summary,
        string client, string clientUrl, string source, SortedDictionary<string, string> details)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            w.WriteString("routing_key", routingKey);
            w.WriteString("event_action", action);
            w.WriteString("dedup_key", dedupKey.Length > DedupKeyMax ? dedupKey[..DedupKeyMax] : dedupKey);
            if (action == "trigger")
            {
                w.WriteStartObject("payload");
                w.WriteString("summary", summary);
                w.WriteString("source", source);
                w.WriteString("severity", MapSeverity(t.Expand(s.Severity ?? "{{ .CommonLabels.severity }}", d)));
                var first = d.Alerts.Count > 0 ? d.Alerts.Min(a => a.StartsAt) : (DateTimeOffset?)null;
                if (first is { } ts) w.WriteString("timestamp", Webhook.WebhookNotifier.Time(ts));
                Optional(w, "component", t.Expand(s.Component ?? "", d));
                Optional(w, "group", t.Expand(s.Group ?? "", d));
                Optional(w, "class", t.Expand(s.Class ?? "", d));
                w.WriteStartObject("custom_details");
                foreach (var (k, v) in details) w.WriteString(k, v);
                w.WriteEndObject();
                w.WriteEndObject();
                if (client.Length > 0) w.WriteString("client", client);
                if (clientUrl.Length > 0) w.WriteString("client_url", clientUrl);
            }
            w.WriteEndObject();
        }
        return ms.ToArray();
    }

    private static string Instances(TemplateData d, string status)
    {
        var sb = new StringBuilder();
        foreach (var a in d.Alerts.Where(a => a.Status == status))
        {
            sb.Append(string.Join(", ", a.Labels.OrderBy(x => x.Key, StringComparer.Ordinal).Select(x => x.Key + "=" + x.Value)));
            if (a.Annotations.TryGetValue("summary", out var sum)) sb.Append(" — ").Append(sum);
            sb.Append('\n');
        }
        return sb.ToString();
    }

    private static void Optional(Utf8JsonWriter w, string name, string value)
    {
        if (!string.IsNullOrWhiteSpace(value)) w.WriteString(name, value.Trim());
    }
}
