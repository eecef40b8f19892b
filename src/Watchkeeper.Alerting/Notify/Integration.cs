using Watchkeeper.Alerting.Config;

namespace Watchkeeper.Alerting.Notify;

/// <summary>What the integrations share: their kind, whether they can send, and secrets read when sending.</summary>
public static class Integrations
{
    /// <summary>slack, email, pagerduty, webhook or msteamsv2.</summary>
    public static string Kind(IntegrationConfig c) => c switch
    {
        SlackConfig => "slack",
        EmailConfig => "email",
        PagerDutyConfig => "pagerduty",
        WebhookConfig => "webhook",
        MsTeamsV2Config => "msteamsv2",
        _ => c.GetType().Name,
    };

    /// <summary>
    /// Null when the integration can send; otherwise what is missing. An unconfigured integration (the shipped
    /// receivers until their URL or SMTP host is set) is recorded as skipped, not failed.
    /// </summary>
    /// <remarks>
    /// Alertmanager's format requires the addresses, so a file that passes <c>amtool check-config</c> marks an
    /// integration as not yet set up with a placeholder: a host under the reserved <c>.invalid</c> domain (RFC 2606),
    /// or a <c>*_file</c> that does not exist yet (dropping the secret file in turns it on).
    /// </remarks>
    public static string? Unconfigured(IntegrationConfig c) => c switch
    {
        SlackConfig s => Missing(s.ApiUrl, s.ApiUrlFile, "api_url"),
        EmailConfig e => string.IsNullOrWhiteSpace(e.Smarthost) ? "smarthost is not set"
            : Placeholder(e.Smarthost.Split(':')[0]) ? $"smarthost {e.Smarthost} is a placeholder (.invalid)"
            : string.IsNullOrWhiteSpace(e.To) ? "to is not set"
            : string.IsNullOrWhiteSpace(e.From) ? "from is not set" : null,
        PagerDutyConfig p => Missing(p.RoutingKey, p.RoutingKeyFile, "routing_key"),
        WebhookConfig w => Missing(w.Url, w.UrlFile, "url"),
        MsTeamsV2Config t => Missing(t.WebhookUrl, t.WebhookUrlFile, "webhook_url"),
        _ => "unknown integration",
    };

    private static string? Missing(string? inline, string? file, string key)
    {
        if (!string.IsNullOrWhiteSpace(inline))
            return Uri.TryCreate(inline, UriKind.Absolute, out var u) && Placeholder(u.Host) ? $"{key} {inline} is a placeholder (.invalid)" : null;
        if (string.IsNullOrWhiteSpace(file)) return key + " is not set";
        return File.Exists(file) ? null : $"{key}_file {file} does not exist";
    }

    private static bool Placeholder(string host) =>
        host.Equals("invalid", StringComparison.OrdinalIgnoreCase) || host.EndsWith(".invalid", StringComparison.OrdinalIgnoreCase);

    /// <summary>A secret given inline or as a <c>*_file</c> path, read now (so a rotated file is picked up).</summary>
    public static string Secret(string? inline, string? file, string key)
    {
        if (!string.IsNullOrEmpty(inline)) return inline;
        if (string.IsNullOrEmpty(file)) throw new NotifyConfigException(key + " is not set");
        try
        {
            return File.ReadAllText(file).Trim();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new NotifyConfigException($"{key}_file {file}: {ex.Message}");
        }
    }
}

/// <summary>The integration's settings cannot be used (a secret file is unreadable): not retryable.</summary>
public sealed class NotifyConfigException(string message) : Exception(message);

/// <summary>What one delivery try ended with.</summary>
public sealed record NotifyOutcome(bool Delivered, int? StatusCode, string? Error, bool Retryable, TimeSpan? RetryAfter = null)
{
    public static NotifyOutcome Ok(int? status = null) => new(true, status, null, false);
    public static NotifyOutcome Failed(int? status, string error, bool retryable, TimeSpan? retryAfter = null) => new(false, status, error, retryable, retryAfter);
}

/// <summary>Everything an integration needs to send one notification.</summary>
public sealed record NotifyRequest(
    TemplateData Data,
    IntegrationConfig Config,
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
