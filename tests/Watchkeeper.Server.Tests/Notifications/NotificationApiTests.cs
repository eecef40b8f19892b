using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Watchkeeper.Alerting.Config;
using Watchkeeper.Server.Notifications;

namespace Watchkeeper.Server.Tests.Notifications;

public sealed class NotificationApiTests
{
    private static readonly string[] Routes = ["/api/v1/notifications", "/api/v1/notifications/1", "/api/v1/notifications/receivers", "/notifications", "/notifications/1"];

    [Fact]
    public async Task Notification_routes_need_a_login_and_a_viewer_may_read_them_all()
    {
        await using var hook = await LoopbackReceiver.StartAsync();
        await using var s = await NotifyFixture.StartAsync(false, [NotifyFixture.Receiver("ops", new WebhookConfig { Url = hook.Url() })]);
        var id = await NotifyFixture.EnqueueAsync(s, NotifyFixture.Item(s, "ops", "webhook_configs[0]"));
        Assert.Equal(1, id);
        await s.Get<NotificationSender>().RunOnceAsync();

        var mapped = Endpoints.All(s.Services).Where(e => e.Route.Contains("notifications", StringComparison.Ordinal)).ToList();
        Assert.Equal(Routes.Length, mapped.Count);
        Assert.All(mapped, e => Assert.Equal(("GET", 1, false), (e.Method, e.RequiredRank, e.AllowAnonymous)));

        using var anon = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = s.BaseAddress };
        foreach (var r in Routes)
        {
            using var resp = await anon.GetAsync(r);
            Assert.True(resp.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Redirect, $"{r}: {(int)resp.StatusCode}");
        }
        using var viewer = await s.ClientAsAsync("viewer");
        foreach (var r in Routes)
        {
            using var resp = await viewer.GetAsync(r);
            Assert.True(resp.StatusCode == HttpStatusCode.OK, $"{r}: {(int)resp.StatusCode}");
        }

        var list = await viewer.GetFromJsonAsync<JsonElement>("/api/v1/notifications?status=delivered");
        Assert.Equal(1, list.GetProperty("total").GetInt32());
        var item = list.GetProperty("items")[0];
        Assert.Equal("webhook", item.GetProperty("kind").GetString());
        var detail = await viewer.GetFromJsonAsync<JsonElement>("/api/v1/notifications/1");
        var attempt = detail.GetProperty("attempts")[0];
        Assert.Equal(200, attempt.GetProperty("status_code").GetInt32());
        Assert.True(attempt.TryGetProperty("latency_ms", out _));

        using var bad = await viewer.GetAsync("/api/v1/notifications?status=lost");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal("application/problem+json", bad.Content.Headers.ContentType?.MediaType);
        using var missing = await viewer.GetAsync("/api/v1/notifications/42");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("application/problem+json", missing.Content.Headers.ContentType?.MediaType);
    }
}
