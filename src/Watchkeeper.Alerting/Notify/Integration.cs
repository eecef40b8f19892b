namespace Watchkeeper.Alerting.Notify;

/// <summary>
/// The settings of one integration of a receiver (one entry of <c>slack_configs</c>, <c>email_configs</c>, ...), with
/// Alertmanager's field names. Bound from the configuration; an integration whose address (URL, SMTP host, routing
/// key) is not set is <em>unconfigured</em>: the sender records its notifications as skipped instead of failing them.
/// </summary>
public abstract class IntegrationSettings
{
    /// <summary>Whether resolved notifications are sent (Alertmanager's default differs per kind).</summary>
    public abstract bool SendResolved { get; set; }

    /// <summary>The integration kind as the configuration names its list without <c>_configs</c>: slack, email, ...</summary>
    public abstract string Kind { get; }

    /// <summary>Null when the integration can send; otherwise what is missing (shown by the UI and <c>wk</c>).</summary>
    public abstract string? Unconfigured { get; }
}

/// <summary>A receiver: a name and its integrations (Alertmanager's <c>receivers[]</c>).</summary>
public sealed class ReceiverSettings
{
    public string Name { get; set; } = "";
    public List<Slack.SlackSettings> SlackConfigs { get; set; } = [];
    public List<Email.EmailSettings> EmailConfigs { get; set; } = [];
    public List<PagerDuty.PagerDutySettings> PagerdutyConfigs { get; set; } = [];
    public List<Webhook.WebhookSettings> WebhookConfigs { get; set; } = [];
    public List<MsTeams.MsTeamsV2Settings> Msteamsv2Configs { get; set; } = [];

    /// <summary>Every integration with the name the outbox uses for it (<c>slack_configs[0]</c>, ...).</summary>
    public IEnumerable<(string Name, IntegrationSettings Settings)> Integrations()
    {
        for (var i = 0; i < SlackConfigs.Count; i++) yield return ($"slack_configs[{i}]", SlackConfigs[i]);
        for (var i = 0; i < EmailConfigs.Count; i++) yield return ($"email_configs[{i}]", EmailConfigs[i]);
        for (var i = 0; i < PagerdutyConfigs.Count; i++) yield return ($"pagerduty_configs[{i}]", PagerdutyConfigs[i]);
        for (var i = 0; i < WebhookConfigs.Count; i++) yield return ($"webhook_configs[{i}]", WebhookConfigs[i]);
        for (var i = 0; i < Msteamsv2Configs.Count; i++) yield return ($"msteamsv2_configs[{i}]", Msteamsv2Configs[i]);
    }

    public IntegrationSettings? Find(string integration) =>
        Integrations().FirstOrDefault(x => string.Equals(x.Name, integration, StringComparison.Ordinal)).Settings;
}

/// <summary>What one delivery try ended with.</summary>
public sealed record NotifyOutcome(bool Delivered, int? StatusCode, string? Error, bool Retryable, TimeSpan? RetryAfter = null)
{
    public static NotifyOutcome Ok(int? status = null) => new(true, status, null, false);
    public static NotifyOutcome Failed(int? status, string error, bool retryable, TimeSpan? retryAfter = null) => new(false, status, error, retryable, retryAfter);
}

/// <summary>Everything an integration needs to send one notification.</summary>
public sealed record NotifyRequest(
    TemplateData Data,
    IntegrationSettings Settings,
    INotificationTemplates Templates,
    string DedupKey,
    string? Action = null);                         // PagerDuty event action override ("acknowledge")

/// <summary>
/// One kind of receiver integration (Slack, email, PagerDuty, webhook, Teams): turns the template data and the
/// integration's settings into the provider's request and sends it. Retries and recording are the sender's.
/// </summary>
public interface INotifier
{
    string Kind { get; }

    Task<NotifyOutcome> SendAsync(NotifyRequest request, CancellationToken ct);
}

/// <summary>
/// Notification templates: Go <c>text/template</c> text evaluated against <see cref="TemplateData"/>, with the
/// default templates and the configured <c>templates:</c> files defined (so <c>{{ template "slack.default.title" . }}</c> works).
/// </summary>
public interface INotificationTemplates
{
    /// <summary>Expands <paramref name="text"/>; throws <see cref="NotificationTemplateException"/> on a template error.</summary>
    string Expand(string text, TemplateData data);
}

public sealed class NotificationTemplateException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>HTTP status classification shared by the HTTP integrations.</summary>
public static class HttpOutcome
{
    public static async Task<NotifyOutcome> FromResponseAsync(HttpResponseMessage r, CancellationToken ct)
    {
        var code = (int)r.StatusCode;
        if (r.IsSuccessStatusCode) return NotifyOutcome.Ok(code);
        string body;
        try
        {
            body = await r.Content.ReadAsStringAsync(ct);
        }
        catch (HttpRequestException)
        {
            body = "";
        }
        if (body.Length > 500) body = body[..500] + "…";
        var retryAfter = RetryAfter(r);
        // As Alertmanager: 5xx and 429 are worth retrying; another 4xx will not get better by retrying.
        var retryable = code >= 500 || code == 429 || code == 408;
        return NotifyOutcome.Failed(code, $"HTTP {code}{(body.Length > 0 ? ": " + body.ReplaceLineEndings(" ") : "")}", retryable, retryAfter);
    }

    public static TimeSpan? RetryAfter(HttpResponseMessage r)
    {
        if (r.Headers.RetryAfter is not { } ra) return null;
        if (ra.Delta is { } d) return d;
        if (ra.Date is { } at && r.Headers.Date is { } now) return at - now > TimeSpan.Zero ? at - now : TimeSpan.Zero;
        return null;
    }

    public static NotifyOutcome FromException(Exception ex) => ex switch
    {
        HttpRequestException h => NotifyOutcome.Failed(h.StatusCode is { } s ? (int)s : null, h.Message, true),
        TimeoutException or TaskCanceledException or OperationCanceledException => NotifyOutcome.Failed(null, "timed out: " + ex.Message, true),
        _ => NotifyOutcome.Failed(null, ex.GetType().Name + ": " + ex.Message, true),
    };

    /// <summary>Cuts <paramref name="s"/> to <paramref name="max"/> characters, ending with an ellipsis when cut (as Alertmanager truncates).</summary>
    public static string Truncate(string s, int max) => s.Length <= max ? s : s[..(max - 1)] + "…";
}
