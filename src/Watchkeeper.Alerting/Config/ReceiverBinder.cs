using YamlDotNet.RepresentationModel;

namespace Watchkeeper.Alerting.Config;

/// <summary>Binds <c>receivers</c> with the integrations Watchkeeper implements; others are errors that say so.</summary>
internal static class ReceiverBinder
{
    /// <summary>Alertmanager integration kinds Watchkeeper does not send to.</summary>
    public static readonly IReadOnlySet<string> NotImplemented = new HashSet<string>(StringComparer.Ordinal)
    {
        "opsgenie_configs", "victorops_configs", "pushover_configs", "sns_configs", "telegram_configs", "wechat_configs",
        "discord_configs", "webex_configs", "msteams_configs", "jira_configs", "rocketchat_configs",
    };

    private static readonly string[] Kinds = ["name", "slack_configs", "email_configs", "pagerduty_configs", "webhook_configs", "msteamsv2_configs"];

    public static ReceiverConfig Bind(YamlBinder b, YamlNode node, string path, AlertmanagerGlobal g)
    {
        string? name = null;
        var slack = new List<SlackConfig>();
        var email = new List<EmailConfig>();
        var pd = new List<PagerDutyConfig>();
        var webhook = new List<WebhookConfig>();
        var teams = new List<MsTeamsV2Config>();
        foreach (var (key, v, kn, p) in b.Map(node, path))
        {
            switch (key)
            {
                case "name": name = b.Str(v, p); break;
                case "slack_configs": foreach (var (i, ip) in b.Seq(v, p)) slack.Add(Slack(b, i, ip, g)); break;
                case "email_configs": foreach (var (i, ip) in b.Seq(v, p)) email.Add(Email(b, i, ip, g)); break;
                case "pagerduty_configs": foreach (var (i, ip) in b.Seq(v, p)) pd.Add(PagerDuty(b, i, ip, g)); break;
                case "webhook_configs": foreach (var (i, ip) in b.Seq(v, p)) webhook.Add(Webhook(b, i, ip, g)); break;
                case "msteamsv2_configs": foreach (var (i, ip) in b.Seq(v, p)) teams.Add(Teams(b, i, ip, g)); break;
                default:
                    if (NotImplemented.Contains(key))
                        throw b.Error(kn, p, $"is an Alertmanager integration Watchkeeper does not implement (implemented: {string.Join(", ", Kinds[1..])})");
                    throw b.Unknown(kn, p, Kinds);
            }
        }
        if (string.IsNullOrEmpty(name)) throw b.Error(node, path + ".name", "missing name on receiver");
        return new ReceiverConfig(name, slack, email, pd, webhook, teams);
    }

    /// <summary>Reads the keys every integration has; returns false for keys the caller handles.</summary>
    private static bool Common<T>(YamlBinder b, string key, YamlNode v, string p, ref T c, AlertmanagerGlobal g) where T : IntegrationConfig
    {
        switch (key)
        {
            case "send_resolved": c = c with { SendResolved = b.Bool(v, p) }; return true;
            case "http_config":
                var (http, proxy) = b.HttpConfig(v, p);
                c = c with { HttpConfig = http, ProxyUrl = proxy };
                return true;
            default: return false;
        }
    }

    private static SlackConfig Slack(YamlBinder b, YamlNode node, string path, AlertmanagerGlobal g)
    {
        var c = new SlackConfig { SendResolved = false, HttpConfig = g.HttpConfig };
        string[] keys = ["send_resolved", "http_config", "api_url", "api_url_file", "channel", "username", "color", "title", "title_link", "pretext", "text", "footer", "fallback", "callback_id", "icon_emoji", "icon_url", "image_url", "thumb_url", "short_fields", "link_names", "mrkdwn_in"];
        foreach (var (key, v, kn, p) in b.Map(node, path))
        {
            if (Common(b, key, v, p, ref c, g)) continue;
            c = key switch
            {
                "api_url" => c with { ApiUrl = b.Url(v, p) },
                "api_url_file" => c with { ApiUrlFile = b.FilePath(v, p) },
                "channel" => c with { Channel = b.Str(v, p) },
                "username" => c with { Username = b.Str(v, p) },
                "color" => c with { Color = b.Str(v, p) },
                "title" => c with { Title = b.Str(v, p) },
                "title_link" => c with { TitleLink = b.Str(v, p) },
                "pretext" => c with { Pretext = b.Str(v, p) },
                "text" => c with { Text = b.Str(v, p) },
                "footer" => c with { Footer = b.Str(v, p) },
                "fallback" => c with { Fallback = b.Str(v, p) },
                "callback_id" => c with { CallbackId = b.Str(v, p) },
                "icon_emoji" => c with { IconEmoji = b.Str(v, p) },
                "icon_url" => c with { IconUrl = b.Str(v, p) },
                "image_url" => c with { ImageUrl = b.Str(v, p) },
                "thumb_url" => c with { ThumbUrl = b.Str(v, p) },
                "short_fields" => c with { ShortFields = b.Bool(v, p) },
                "link_names" => c with { LinkNames = b.Bool(v, p) },
                "mrkdwn_in" => c with { MrkdwnIn = b.StrList(v, p) },
                "fields" or "actions" => throw b.Error(kn, p, "Slack attachment fields and actions are not implemented by Watchkeeper"),
                _ => throw b.Unknown(kn, p, keys),
            };
        }
        if (c.ApiUrl is not null && c.ApiUrlFile is not null) throw b.Error(node, path, "at most one of api_url and api_url_file may be set");
        if (c.ApiUrl is null && c.ApiUrlFile is null) c = c with { ApiUrl = g.SlackApiUrl, ApiUrlFile = g.SlackApiUrl is null ? g.SlackApiUrlFile : null };
        return c;
    }

    private static EmailConfig Email(YamlBinder b, YamlNode node, string path, AlertmanagerGlobal g)
    {
        var c = new EmailConfig { SendResolved = false, HttpConfig = g.HttpConfig };
        bool tlsSet = false;
        string[] keys = ["send_resolved", "to", "from", "hello", "smarthost", "auth_username", "auth_password", "auth_password_file", "auth_secret", "auth_identity", "require_tls", "tls_config", "html", "text", "headers"];
        foreach (var (key, v, kn, p) in b.Map(node, path))
        {
            if (key == "send_resolved") { c = c with { SendResolved = b.Bool(v, p) }; continue; }
            if (key == "require_tls") { c = c with { RequireTls = b.Bool(v, p) }; tlsSet = true; continue; }
            c = key switch
            {
                "to" => c with { To = b.Str(v, p) },
                "from" => c with { From = b.Str(v, p) },
                "hello" => c with { Hello = b.Str(v, p) },
                "smarthost" => c with { Smarthost = HostPort(b, v, p) },
                "auth_username" => c with { AuthUsername = b.Str(v, p) },
                "auth_password" => c with { AuthPassword = b.Str(v, p) },
                "auth_password_file" => c with { AuthPasswordFile = b.FilePath(v, p) },
                "auth_secret" => c with { AuthSecret = b.Str(v, p) },
                "auth_identity" => c with { AuthIdentity = b.Str(v, p) },
                "tls_config" => c with { TlsConfig = b.Tls(v, p) },
                "html" => c with { Html = b.Str(v, p) },
                "text" => c with { Text = b.Str(v, p) },
                "headers" => c with { Headers = b.StrMap(v, p) },
                _ => throw b.Unknown(kn, p, keys),
            };
        }
        if (string.IsNullOrEmpty(c.To)) throw b.Error(node, path + ".to", "missing to address in email config");
        c = c with
        {
            From = c.From ?? g.SmtpFrom,
            Hello = c.Hello ?? g.SmtpHello,
            Smarthost = c.Smarthost ?? g.SmtpSmarthost,
            AuthUsername = c.AuthUsername ?? g.SmtpAuthUsername,
            AuthPassword = c.AuthPassword ?? (c.AuthPasswordFile is null ? g.SmtpAuthPassword : null),
            AuthPasswordFile = c.AuthPasswordFile ?? (c.AuthPassword is null && g.SmtpAuthPassword is null ? g.SmtpAuthPasswordFile : null),
            AuthSecret = c.AuthSecret ?? g.SmtpAuthSecret,
            AuthIdentity = c.AuthIdentity ?? g.SmtpAuthIdentity,
            RequireTls = tlsSet ? c.RequireTls : g.SmtpRequireTls,
        };
        if (string.IsNullOrEmpty(c.From)) throw b.Error(node, path + ".from", "no global SMTP from set (smtp_from) and no from in the email config");
        if (string.IsNullOrEmpty(c.Smarthost)) throw b.Error(node, path + ".smarthost", "no global SMTP smarthost set (smtp_smarthost) and no smarthost in the email config");
        return c;
    }

    public static string HostPort(YamlBinder b, YamlNode v, string p)
    {
        var s = b.Str(v, p);
        var i = s.LastIndexOf(':');
        if (i <= 0 || !int.TryParse(s.AsSpan(i + 1), System.Globalization.CultureInfo.InvariantCulture, out var port) || port is <= 0 or > 65535)
            throw b.Error(v, p, $"address \"{s}\": expected host:port");
        return s;
    }

    private static PagerDutyConfig PagerDuty(YamlBinder b, YamlNode node, string path, AlertmanagerGlobal g)
    {
        var c = new PagerDutyConfig { SendResolved = true, HttpConfig = g.HttpConfig };
        string[] keys = ["send_resolved", "http_config", "routing_key", "routing_key_file", "service_key", "service_key_file", "url", "client", "client_url", "description", "severity", "class", "component", "group", "source", "details", "images", "links"];
        foreach (var (key, v, kn, p) in b.Map(node, path))
        {
            if (Common(b, key, v, p, ref c, g)) continue;
            c = key switch
            {
                "routing_key" => c with { RoutingKey = b.Str(v, p) },
                "routing_key_file" => c with { RoutingKeyFile = b.FilePath(v, p) },
                "service_key" => c with { ServiceKey = b.Str(v, p) },
                "service_key_file" => c with { ServiceKeyFile = b.FilePath(v, p) },
                "url" => c with { Url = b.Url(v, p) },
                "client" => c with { Client = b.Str(v, p) },
                "client_url" => c with { ClientUrl = b.Str(v, p) },
                "description" => c with { Description = b.Str(v, p) },
                "severity" => c with { Severity = b.Str(v, p) },
                "class" => c with { Class = b.Str(v, p) },
                "component" => c with { Component = b.Str(v, p) },
                "group" => c with { Group = b.Str(v, p) },
                "source" => c with { Source = b.Str(v, p) },
                "details" => c with { Details = b.StrMap(v, p) },
                "images" or "links" => throw b.Error(kn, p, "PagerDuty images and links are not implemented by Watchkeeper"),
                _ => throw b.Unknown(kn, p, keys),
            };
        }
        var keysSet = new[] { c.RoutingKey, c.RoutingKeyFile, c.ServiceKey, c.ServiceKeyFile }.Count(x => x is not null);
        if (keysSet == 0) throw b.Error(node, path, "missing service or routing key in PagerDuty config");
        if (keysSet > 1) throw b.Error(node, path, "at most one of routing_key, routing_key_file, service_key and service_key_file may be set");
        return c with { Url = c.Url ?? g.PagerdutyUrl };
    }

    private static WebhookConfig Webhook(YamlBinder b, YamlNode node, string path, AlertmanagerGlobal g)
    {
        var c = new WebhookConfig { SendResolved = true, HttpConfig = g.HttpConfig };
        string[] keys = ["send_resolved", "http_config", "url", "url_file", "max_alerts", "timeout"];
        foreach (var (key, v, kn, p) in b.Map(node, path))
        {
            if (Common(b, key, v, p, ref c, g)) continue;
            c = key switch
            {
                "url" => c with { Url = b.Url(v, p) },
                "url_file" => c with { UrlFile = b.FilePath(v, p) },
                "max_alerts" => c with { MaxAlerts = b.Int(v, p) },
                "timeout" => c with { Timeout = b.Duration(v, p) },
                _ => throw b.Unknown(kn, p, keys),
            };
        }
        if ((c.Url is null) == (c.UrlFile is null)) throw b.Error(node, path, "one of url or url_file must be configured");
        return c;
    }

    private static MsTeamsV2Config Teams(YamlBinder b, YamlNode node, string path, AlertmanagerGlobal g)
    {
        var c = new MsTeamsV2Config { SendResolved = true, HttpConfig = g.HttpConfig };
        string[] keys = ["send_resolved", "http_config", "webhook_url", "webhook_url_file", "title", "text"];
        foreach (var (key, v, kn, p) in b.Map(node, path))
        {
            if (Common(b, key, v, p, ref c, g)) continue;
            c = key switch
            {
                "webhook_url" => c with { WebhookUrl = b.Url(v, p) },
                "webhook_url_file" => c with { WebhookUrlFile = b.FilePath(v, p) },
                "title" => c with { Title = b.Str(v, p) },
                "text" => c with { Text = b.Str(v, p) },
                _ => throw b.Unknown(kn, p, keys),
            };
        }
        if ((c.WebhookUrl is null) == (c.WebhookUrlFile is null)) throw b.Error(node, path, "one of webhook_url or webhook_url_file must be configured");
        return c;
    }
}
