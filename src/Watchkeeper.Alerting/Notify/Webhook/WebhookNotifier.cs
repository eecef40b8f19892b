using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Watchkeeper.Alerting.Config;
using Watchkeeper.Metrics.Scrape;

namespace Watchkeeper.Alerting.Notify.Webhook;

/// <summary>The generic webhook: Alertmanager's JSON payload, version "4", POSTed to <c>url</c>.</summary>
public sealed class WebhookNotifier(HttpClient http) : INotifier
{
    public string Kind => "webhook";

    public async Task<NotifyOutcome> SendAsync(NotifyRequest request, CancellationToken ct)
    {
        var s = (WebhookConfig)request.Config;
        var url = Integrations.Secret(s.Url, s.UrlFile, "url");
        using var msg = new HttpRequestMessage(HttpMethod.Post, url) { Content = Json(Payload(request.Data, s.MaxAlerts)) };
        return await PostAsync(http, msg, s, s.Timeout, ct);
    }

    /// <summary>Sends with the integration's http_config authorization and, when set, its own timeout.</summary>
    internal static async Task<NotifyOutcome> PostAsync(HttpClient http, HttpRequestMessage msg, IntegrationConfig c, TimeSpan timeout, CancellationToken ct)
    {
        HttpClientFactory.ApplyAuth(msg, c.HttpConfig);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        if (timeout > TimeSpan.Zero) cts.CancelAfter(timeout);
        using var r = await http.SendAsync(msg, cts.Token);
        return await HttpOutcome.FromResponseAsync(r, cts.Token);
    }

    internal static ByteArrayContent Json(byte[] body)
    {
        var c = new ByteArrayContent(body);
        c.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        return c;
    }

    /// <summary>The version 4 payload; with <paramref name="maxAlerts"/> &gt; 0 only that many alerts, the rest counted.</summary>
    public static byte[] Payload(TemplateData d, int maxAlerts)
    {
        var alerts = d.Alerts;
        var truncated = d.TruncatedAlerts;
        if (maxAlerts > 0 && alerts.Count > maxAlerts)
        {
            truncated += alerts.Count - maxAlerts;
            alerts = [.. alerts.Take(maxAlerts)];
        }
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            w.WriteString("receiver", d.Receiver);
            w.WriteString("status", d.Status);
            w.WriteStartArray("alerts");
            foreach (var a in alerts)
            {
                w.WriteStartObject();
                w.WriteString("status", a.Status);
                Map(w, "labels", a.Labels);
                Map(w, "annotations", a.Annotations);
                w.WriteString("startsAt", Time(a.StartsAt));
                // Alertmanager writes Go's zero time for an alert with no end.
                w.WriteString("endsAt", a.EndsAt is { } e ? Time(e) : "0001-01-01T00:00:00Z");
                w.WriteString("generatorURL", a.GeneratorUrl);
                w.WriteString("fingerprint", a.Fingerprint);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            Map(w, "groupLabels", d.GroupLabels);
            Map(w, "commonLabels", d.CommonLabels);
            Map(w, "commonAnnotations", d.CommonAnnotations);
            w.WriteString("externalURL", d.ExternalUrl);
            w.WriteString("version", "4");
            w.WriteString("groupKey", d.GroupKey);
            w.WriteNumber("truncatedAlerts", truncated);
            w.WriteEndObject();
        }
        return ms.ToArray();
    }

    internal static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture);

    private static void Map(Utf8JsonWriter w, string name, IReadOnlyDictionary<string, string> m)
    {
        w.WriteStartObject(name);
        foreach (var (k, v) in m.OrderBy(x => x.Key, StringComparer.Ordinal)) w.WriteString(k, v);
        w.WriteEndObject();
    }

    internal static string Utf8(byte[] b) => Encoding.UTF8.GetString(b);
}
