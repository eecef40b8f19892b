using System.Net.Sockets;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using Watchkeeper.Alerting.Config;

namespace Watchkeeper.Alerting.Notify.Email;

/// <summary>
/// Email over SMTP with MailKit: STARTTLS (required unless <c>require_tls: false</c>; implicit TLS on port 465),
/// authentication when <c>auth_username</c> is set, a multipart/alternative body with the text and HTML templates,
/// and the configured headers. An SMTP 4xx reply is retried, a 5xx is not (the server refused the message).
/// </summary>
public sealed class EmailNotifier(TimeSpan timeout) : INotifier
{
    public string Kind => "email";

    public async Task<NotifyOutcome> SendAsync(NotifyRequest request, CancellationToken ct)
    {
        var s = (EmailConfig)request.Config;
        using var message = TryBuild(request, s, out var error);
        if (message is null) return NotifyOutcome.Failed(null, "bad address or header: " + error, retryable: false);
        return await DeliverAsync(message, s, timeout, ct);
    }

    /// <summary>
    /// Sends a built message with the SMTP settings of <paramref name="s"/> (smarthost, TLS, authentication, HELO):
    /// also used for mail that is not an alert notification (status page subscribers).
    /// </summary>
    public static async Task<NotifyOutcome> DeliverAsync(MimeMessage message, EmailConfig s, TimeSpan timeout, CancellationToken ct)
    {
        var (host, port) = HostPort(s.Smarthost ?? "");
        var password = string.IsNullOrEmpty(s.AuthUsername) ? "" : string.IsNullOrEmpty(s.AuthPassword) && string.IsNullOrEmpty(s.AuthPasswordFile) ? ""
            : Integrations.Secret(s.AuthPassword, s.AuthPasswordFile, "auth_password");
        using var client = new SmtpClient { Timeout = (int)timeout.TotalMilliseconds, LocalDomain = string.IsNullOrWhiteSpace(s.Hello) ? null : s.Hello };
        var insecure = s.TlsConfig.InsecureSkipVerify;
        if (insecure) client.ServerCertificateValidationCallback = (_, _, _, errors) => insecure || errors == System.Net.Security.SslPolicyErrors.None;
        try
        {
            var tls = port == 465 ? SecureSocketOptions.SslOnConnect : s.RequireTls ? SecureSocketOptions.StartTls : SecureSocketOptions.StartTlsWhenAvailable;
            await client.ConnectAsync(host, port, tls, ct);
            if (!string.IsNullOrEmpty(s.AuthUsername))
                await client.AuthenticateAsync(new System.Net.NetworkCredential(s.AuthUsername, password), ct);
            await client.SendAsync(message, ct);
            await client.DisconnectAsync(true, ct);
            return NotifyOutcome.Ok(250);
        }
        catch (SmtpCommandException ex)
        {
            var code = (int)ex.StatusCode;
            return NotifyOutcome.Failed(code, $"SMTP {code}: {ex.Message}", retryable: code < 500);
        }
        catch (AuthenticationException ex)
        {
            return NotifyOutcome.Failed(535, "SMTP authentication failed: " + ex.Message, retryable: false);
        }
        catch (OperationCanceledException ex) when (!ct.IsCancellationRequested)
        {
            return NotifyOutcome.Failed(null, "timed out: " + ex.Message, retryable: true);
        }
        catch (Exception ex) when (ex is SmtpProtocolException or SocketException or IOException or SslHandshakeException or NotSupportedException or TimeoutException)
        {
            return NotifyOutcome.Failed(null, ex.GetType().Name + ": " + ex.Message, retryable: true);
        }
    }

    private static MimeMessage? TryBuild(NotifyRequest request, EmailConfig s, out string? error)
    {
        error = null;
        try
        {
            return Build(request.Data, s, request.Templates, request.DedupKey);
        }
        catch (ParseException ex)
        {
            error = ex.Message;
            return null;
        }
    }

    public static (string Host, int Port) HostPort(string smarthost)
    {
        var i = smarthost.LastIndexOf(':');
        if (i <= 0 || !int.TryParse(smarthost.AsSpan(i + 1), System.Globalization.CultureInfo.InvariantCulture, out var port)) return (smarthost.Trim('[', ']'), 25);
        return (smarthost[..i].Trim('[', ']'), port);
    }

    /// <summary>The message: From/To/Subject from the settings (templates), the other headers, text and HTML alternatives.</summary>
    public static MimeMessage Build(TemplateData d, EmailConfig s, INotificationTemplates t, string dedupKey)
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            ["From"] = s.From ?? "",
            ["To"] = s.To,
            ["Subject"] = """{{ template "email.default.subject" . }}""",
        };
        foreach (var (k, v) in s.Headers) headers[k] = v;
        var m = new MimeMessage();
        foreach (var (k, v) in headers)
        {
            var value = t.Expand(v, d).Trim();
            switch (k.ToLowerInvariant())
            {
                case "from": m.From.AddRange(InternetAddressList.Parse(value)); break;
                case "to": m.To.AddRange(InternetAddressList.Parse(value)); break;
                case "cc": m.Cc.AddRange(InternetAddressList.Parse(value)); break;
                case "subject": m.Subject = value.ReplaceLineEndings(" "); break;
                default: m.Headers.Add(k, value.ReplaceLineEndings(" ")); break;
            }
        }
        // Lets a mail client thread repeats of the same group together.
        m.Headers.Add("X-Watchkeeper-Group", dedupKey);
        var body = new BodyBuilder();
        var text = t.Expand(s.Text ?? Slack.SlackNotifier.Tmpl("email.default.text"), d);
        var html = t.Expand(s.Html ?? Slack.SlackNotifier.Tmpl("email.default.html"), d);
        if (text.Trim().Length > 0) body.TextBody = text;
        if (html.Trim().Length > 0) body.HtmlBody = html;
        m.Body = body.ToMessageBody();
        return m;
    }
}
