using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Dapper;
using Watchkeeper.Server.Platform;
using Watchkeeper.Server.StatusPage;
using Watchkeeper.Server.Tests.Notifications;

namespace Watchkeeper.Server.Tests.StatusPage;

/// <summary>Subscribers: email double opt-in and one-click unsubscribe over a real SMTP server, webhooks verified by challenge and signed.</summary>
public sealed partial class StatusSubscriberTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Task<TestServer> StartAsync(int smtpPort) => TestServer.StartAsync(editConfig: y => y
        .Replace("alertmanager_config_file: alertmanager.yml\n", "", StringComparison.Ordinal)
        .Replace("    email: false", "    email: true\n    allow_private_webhooks: true", StringComparison.Ordinal)
        .Replace("  title: \"Open Policy Platform status\"", "  title: \"Open Policy Platform status\"\n  public_url: https://status.example.org/status", StringComparison.Ordinal)
        + $"\nalertmanager:\n  global:\n    smtp_smarthost: 127.0.0.1:{smtpPort}\n    smtp_from: status@example.org\n    smtp_require_tls: false\n");

    private static async Task<HttpResponseMessage> Form(HttpClient c, string url, Dictionary<string, string> fields) =>
        await c.PostAsync(url, new FormUrlEncodedContent(fields), Ct);

    private static StatusDeliveryWorker Worker(TestServer s)
    {
        var w = s.Get<StatusDeliveryWorker>();
        w.MayRun = () => false;
        return w;
    }

    [GeneratedRegex(@"https://status\.example\.org(/status/[^\s>]+)")]
    private static partial Regex Link();

    [Fact]
    public async Task Email_subscription_needs_confirmation_receives_public_updates_only_and_unsubscribes_in_one_click()
    {
        await using var smtp = await SmtpPeer.StartAsync();
        await using var s = await StartAsync(smtp.Port);
        var worker = Worker(s);
        using var anon = s.Client();
        using var admin = s.Client(await s.AdminApiTokenAsync());
        await worker.RunOnceAsync(Ct);

        using (var r = await Form(anon, "/status/subscribe", new() { ["kind"] = "email", ["target"] = "Reader@Example.ORG" }))
        {
            Assert.Equal(HttpStatusCode.Accepted, r.StatusCode);
            Assert.Contains("Check your inbox", await r.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        }
        // Not confirmed: a public update goes to nobody.
        var id = await StatusPageTests.PublicIncidentAsync(admin, "Early", "SEV3", ["api-service"], "Before confirmation.");
        await worker.RunOnceAsync(Ct);
        var (confirmMail, meta) = Assert.Single(smtp.Messages());
        Assert.Equal("Reader@example.org", meta.GetProperty("rcpt_tos")[0].GetString());
        Assert.Equal("status@example.org", meta.GetProperty("mail_from").GetString());
        Assert.Equal("Confirm your subscription to Open Policy Platform status", confirmMail.Subject);
        Assert.Null(confirmMail.Headers["List-Unsubscribe"]);
        var confirm = Link().Match(confirmMail.TextBody ?? "").Groups[1].Value;
        Assert.StartsWith("/status/subscribe/confirm?token=", confirm, StringComparison.Ordinal);

        // GET only shows the form (mail scanners confirm nothing); the POST confirms.
        var page = await StatusPageTests.Text(anon, confirm);
        Assert.Contains("Confirm", page, StringComparison.Ordinal);
        Assert.Equal("pending", Assert.Single((await admin.Get("/api/v1/status-page/subscribers")).Items()).Str("state"));
        var token = Uri.UnescapeDataString(confirm[(confirm.IndexOf('=') + 1)..]);
        using (var r = await Form(anon, "/status/subscribe/confirm", new() { ["token"] = token }))
            Assert.Contains("Your subscription is confirmed", await r.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        using (var r = await Form(anon, "/status/subscribe/confirm", new() { ["token"] = token[..^2] + "xx" }))
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        Assert.Equal("active", Assert.Single((await admin.Get("/api/v1/status-page/subscribers")).Items()).Str("state"));

        // Internal updates are not sent; public ones are, with RFC 8058 headers.
        await admin.Post($"/api/v1/incidents/{id}/status-updates", new { current_status = "INTERNAL ONLY", visibility = "internal" });
        await admin.Post($"/api/v1/incidents/{id}/status-updates", new { current_status = "A fix is deployed.", visibility = "public", status = "monitoring" });
        await worker.RunOnceAsync(Ct);
        var messages = smtp.Messages();
        Assert.Equal(2, messages.Count);
        var update = messages[1].Message;
        Assert.Equal("[Open Policy Platform status] Early: Monitoring", update.Subject);
        Assert.Contains("A fix is deployed.", update.TextBody, StringComparison.Ordinal);
        Assert.DoesNotContain("INTERNAL ONLY", update.TextBody, StringComparison.Ordinal);
        Assert.DoesNotContain("Before confirmation.", update.TextBody, StringComparison.Ordinal);
        Assert.Equal("List-Unsubscribe=One-Click", update.Headers["List-Unsubscribe-Post"]);
        var unsubscribe = Link().Match(update.Headers["List-Unsubscribe"] ?? "").Groups[1].Value;
        Assert.StartsWith("/status/unsubscribe?token=", unsubscribe, StringComparison.Ordinal);

        // A restart-safe queue: nothing more to send, and a second pass sends nothing twice.
        await worker.RunOnceAsync(Ct);
        Assert.Equal(2, smtp.Messages().Count);

        // One click, as a mail client does it (RFC 8058): the address is deleted.
        using (var r = await Form(anon, unsubscribe, new() { ["List-Unsubscribe"] = "One-Click" }))
        {
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            Assert.Contains("unsubscribed", await r.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        }
        Assert.Empty((await admin.Get("/api/v1/status-page/subscribers")).Items());
        var left = await s.Get<Db>().ReadAsync(c => c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM status_deliveries"), Ct);
        Assert.Equal(0, left);
        await admin.Post($"/api/v1/incidents/{id}/status-updates", new { current_status = "Resolved.", visibility = "public", status = "resolved" });
        await worker.RunOnceAsync(Ct);
        Assert.Equal(2, smtp.Messages().Count);
    }

    [Fact]
    public async Task Subscribing_is_rate_limited_per_address_and_validated_and_says_the_same_for_a_known_address()
    {
        await using var smtp = await SmtpPeer.StartAsync();
        await using var s = await StartAsync(smtp.Port);
        Worker(s);
        using var anon = s.Client();
        for (var i = 0; i < 3; i++)
            using (var r = await Form(anon, "/status/subscribe", new() { ["kind"] = "email", ["target"] = "same@example.org" }))
                Assert.Equal(HttpStatusCode.Accepted, r.StatusCode);
        using (var r = await Form(anon, "/status/subscribe", new() { ["kind"] = "email", ["target"] = "same@example.org" }))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, r.StatusCode);
            Assert.NotNull(r.Headers.RetryAfter);
        }
        using (var r = await Form(anon, "/status/subscribe", new() { ["kind"] = "email", ["target"] = "not an address" }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
            Assert.Contains("is not an email address", await r.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        }
        using (var r = await Form(anon, "/status/subscribe", new() { ["kind"] = "pigeon", ["target"] = "x@example.org" }))
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        // One row for the address, however many requests.
        var rows = await s.Get<Db>().ReadAsync(c => c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM status_subscribers"), Ct);
        Assert.Equal(1, rows);
    }

    [Fact]
    public async Task A_webhook_is_active_once_it_echoes_the_challenge_and_deliveries_are_signed_with_the_secret_it_was_sent()
    {
        await using var smtp = await SmtpPeer.StartAsync();
        await using var hook = await LoopbackReceiver.StartAsync();
        await using var s = await StartAsync(smtp.Port);
        var worker = Worker(s);
        using var anon = s.Client();
        using var admin = s.Client(await s.AdminApiTokenAsync());
        await worker.RunOnceAsync(Ct);
        hook.Respond = r => r.Json.GetProperty("type").GetString() == "subscription.verify"
            ? (200, JsonSerializer.Serialize(new { challenge = r.Json.GetProperty("challenge").GetString() }), null)
            : (200, "ok", null);
        using (var r = await Form(anon, "/status/subscribe", new() { ["kind"] = "webhook", ["target"] = hook.Url("/status-hook") }))
            Assert.Equal(HttpStatusCode.Accepted, r.StatusCode);
        await worker.RunOnceAsync(Ct);
        Assert.True(hook.Requests.TryDequeue(out var verify));
        var secret = verify.Json.GetProperty("secret").GetString()!;
        Assert.StartsWith("whsec_", secret, StringComparison.Ordinal);
        Assert.Equal("active", Assert.Single((await admin.Get("/api/v1/status-page/subscribers")).Items()).Str("state"));

        var id = await StatusPageTests.PublicIncidentAsync(admin, "Queue backlog", "SEV2", ["api-service"], "Jobs are delayed.");
        await worker.RunOnceAsync(Ct);
        Assert.True(hook.Requests.TryDequeue(out var delivery));
        var json = delivery.Json;
        Assert.Equal("incident.update", json.GetProperty("type").GetString());
        Assert.Equal("Jobs are delayed.", json.GetProperty("update").GetProperty("body").GetString());
        Assert.Equal(id.ToString(System.Globalization.CultureInfo.InvariantCulture), json.GetProperty("incident").GetProperty("id").GetString());
        Assert.Equal("major", json.GetProperty("incident").GetProperty("impact").GetString());
        Assert.StartsWith("https://status.example.org/status/unsubscribe?token=", json.GetProperty("unsubscribe_url").GetString(), StringComparison.Ordinal);
        Assert.Empty(hook.Requests);

        // The signature: HMAC-SHA256 with the secret over "t.body", as Watchkeeper-Signature: t=...,v1=hex.
        var sig = delivery.Headers["Watchkeeper-Signature"];
        var m = Regex.Match(sig, "^t=([0-9]+),v1=([0-9a-f]{64})$");
        Assert.True(m.Success, sig);
        var expected = Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(m.Groups[1].Value + "." + delivery.Body)));
        Assert.Equal(expected, m.Groups[2].Value);
        Assert.Equal("incident.update", delivery.Headers["Watchkeeper-Event"]);

        // A receiver that answers 410 Gone is unsubscribed.
        hook.Respond = _ => (410, "gone", null);
        await admin.Post($"/api/v1/incidents/{id}/status-updates", new { current_status = "Still delayed.", visibility = "public" });
        await worker.RunOnceAsync(Ct);
        Assert.Empty((await admin.Get("/api/v1/status-page/subscribers")).Items());
    }
}
