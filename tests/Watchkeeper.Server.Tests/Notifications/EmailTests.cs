using System.Diagnostics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using MimeKit;
using Watchkeeper.Alerting.Config;
using Watchkeeper.Metrics.Scrape;
using Watchkeeper.Server.Notifications;

namespace Watchkeeper.Server.Tests.Notifications;

/// <summary>A real SMTP server on loopback: Debian's python3-aiosmtpd, started with Debian's own python3.</summary>
public sealed class SmtpPeer : IAsyncDisposable
{
    private readonly Process _process;
    public string Dir { get; }
    public int Port { get; }

    private SmtpPeer(Process p, string dir, int port)
    {
        _process = p;
        Dir = dir;
        Port = port;
    }

    public static string? Python()
    {
        // Only Debian's interpreter imports Debian's aiosmtpd (a pyenv python3 earlier on PATH cannot).
        foreach (var p in new[] { "/usr/bin/python3" })
        {
            if (!File.Exists(p)) continue;
            using var check = Process.Start(new ProcessStartInfo(p, "-c \"import aiosmtpd\"") { RedirectStandardError = true, RedirectStandardOutput = true })!;
            check.WaitForExit(20_000);
            if (check.ExitCode == 0) return p;
        }
        return null;
    }

    /// <summary>Starts the server; with <paramref name="tls"/> it requires STARTTLS and AUTH as user/password.</summary>
    public static async Task<SmtpPeer> StartAsync(bool tls = false, string user = "wk", string password = "s3cret")
    {
        var python = Python();
        if (python is null) TestServer.MissingPeer("python3-aiosmtpd is not installed (apt-get install python3-aiosmtpd; ./scripts/test.sh installs it)");
        var dir = Directory.CreateTempSubdirectory("wk-smtp-").FullName;
        var port = LoopbackReceiver.FreePort();
        var script = Path.Combine(AppContext.BaseDirectory, "Notifications", "smtp_server.py");
        var psi = new ProcessStartInfo(python!) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { script, port.ToString(System.Globalization.CultureInfo.InvariantCulture), dir }) psi.ArgumentList.Add(a);
        if (tls)
        {
            using var rsa = RSA.Create(2048);
            var req = new CertificateRequest("CN=localhost", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            using var cert = req.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
            await File.WriteAllTextAsync(Path.Combine(dir, "cert.pem"), cert.ExportCertificatePem());
            await File.WriteAllTextAsync(Path.Combine(dir, "key.pem"), rsa.ExportRSAPrivateKeyPem());
            foreach (var a in new[] { Path.Combine(dir, "cert.pem"), Path.Combine(dir, "key.pem"), user, password }) psi.ArgumentList.Add(a);
        }
        var p = Process.Start(psi)!;
        var line = await p.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
        if (line != "READY") throw new InvalidOperationException("aiosmtpd did not start: " + await p.StandardError.ReadToEndAsync());
        return new SmtpPeer(p, dir, port);
    }

    public IReadOnlyList<(MimeMessage Message, JsonElement Meta)> Messages() =>
        [.. Directory.GetFiles(Dir, "*.eml").Order(StringComparer.Ordinal).Select(f => (MimeMessage.Load(f),
            JsonDocument.Parse(File.ReadAllText(Path.ChangeExtension(f, ".json"))).RootElement))];

    public async ValueTask DisposeAsync()
    {
        try
        {
            _process.StandardInput.Close();
            if (!_process.WaitForExit(10_000)) _process.Kill();
        }
        finally
        {
            _process.Dispose();
            try { Directory.Delete(Dir, true); } catch (IOException) { }
        }
        await Task.CompletedTask;
    }
}

public sealed class EmailTests
{
    [Fact]
    public async Task Email_goes_out_over_SMTP_with_text_and_HTML_bodies_and_the_configured_headers()
    {
        await using var smtp = await SmtpPeer.StartAsync();
        var email = new EmailConfig
        {
            To = "oncall@example.org, lead@example.org", From = "watchkeeper@example.org", Smarthost = $"127.0.0.1:{smtp.Port}", RequireTls = false,
            SendResolved = true, Headers = new Dictionary<string, string> { ["X-Team"] = "{{ .CommonLabels.job }}" },
        };
        await using var s = await NotifyFixture.StartAsync(false, [NotifyFixture.Receiver("mail", email)]);
        var id = await NotifyFixture.EnqueueAsync(s, NotifyFixture.Item(s, "mail", "email_configs[0]", NotifyFixture.Data("mail", alerts: 2)));
        Assert.Equal(1, await s.Get<NotificationSender>().RunOnceAsync());
        var row = await NotifyFixture.RowAsync(s, id);
        Assert.True(row.Status == OutboxStatus.Delivered, row.LastError);

        var (m, meta) = Assert.Single(smtp.Messages());
        Assert.Equal(["oncall@example.org", "lead@example.org"], meta.GetProperty("rcpt_tos").EnumerateArray().Select(x => x.GetString()));
        Assert.Equal("watchkeeper@example.org", meta.GetProperty("mail_from").GetString());
        Assert.Equal("[FIRING:2] ServiceDown on api-service (critical)", m.Subject);
        Assert.Equal("api-service", m.Headers["X-Team"]);
        Assert.Equal("watchkeeper@example.org", m.From.Mailboxes.Single().Address);
        Assert.Equal(2, m.To.Mailboxes.Count());
        Assert.False(string.IsNullOrEmpty(m.MessageId));
        Assert.Equal("multipart/alternative", m.Body!.ContentType.MimeType);
        Assert.Contains("Service api-service is down on host-1", m.TextBody, StringComparison.Ordinal);
        Assert.Contains("<h2", m.HtmlBody, StringComparison.Ordinal);
        Assert.Contains("Service api-service is down on host-0", m.HtmlBody, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Email_uses_STARTTLS_and_authenticates_and_a_refused_login_fails_without_retrying()
    {
        await using var smtp = await SmtpPeer.StartAsync(tls: true, user: "wk", password: "s3cret");
        EmailConfig Config(string password) => new()
        {
            To = "oncall@example.org", From = "watchkeeper@example.org", Smarthost = $"127.0.0.1:{smtp.Port}", RequireTls = true,
            AuthUsername = "wk", AuthPassword = password, TlsConfig = new TlsConfig { InsecureSkipVerify = true },
        };
        await using var s = await NotifyFixture.StartAsync(false, [new ReceiverConfig("mail", [], [Config("s3cret"), Config("wrong")], [], [], [])]);
        var ok = await NotifyFixture.EnqueueAsync(s, NotifyFixture.Item(s, "mail", "email_configs[0]"));
        var bad = await NotifyFixture.EnqueueAsync(s, NotifyFixture.Item(s, "mail", "email_configs[1]"));
        Assert.Equal(2, await s.Get<NotificationSender>().RunOnceAsync());
        var good = await NotifyFixture.RowAsync(s, ok);
        Assert.True(good.Status == OutboxStatus.Delivered, good.LastError);
        var refused = await NotifyFixture.RowAsync(s, bad);
        Assert.Equal((OutboxStatus.Failed, (int?)535), (refused.Status, refused.LastStatusCode));
        var (_, meta) = Assert.Single(smtp.Messages());
        Assert.True(meta.GetProperty("tls").GetBoolean());
        Assert.True(meta.GetProperty("authenticated").GetBoolean());
    }
}
