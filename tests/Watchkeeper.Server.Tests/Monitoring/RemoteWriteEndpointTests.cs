using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Watchkeeper.Metrics.Model;
using Watchkeeper.Metrics.RemoteWrite;

namespace Watchkeeper.Server.Tests;

/// <summary>The remote write endpoint's answers to bad bodies, far-future samples and limits (issue 9, defects 2, 5, 9).</summary>
public sealed class RemoteWriteEndpointTests
{
    private static async Task<(HttpStatusCode Status, string? Detail)> PostAsync(HttpClient c, byte[] body)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/x-protobuf");
        content.Headers.ContentEncoding.Add("snappy");
        var r = await c.PostAsync("/prometheus/api/v1/write", content, TestContext.Current.CancellationToken);
        if (r.StatusCode == HttpStatusCode.NoContent) return (r.StatusCode, null);
        var doc = await r.Content.ReadFromJsonAsync<JsonElement>(TestContext.Current.CancellationToken);
        return (r.StatusCode, doc.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Bad_bodies_far_future_samples_and_limits_are_answered_with_4xx_and_a_clear_message()
    {
        await using var s = await TestServer.StartAsync(editConfig: y => y + "\nlimits:\n  remote_write_max_body_bytes: 65536\n");
        using var c = s.Client(await s.UserTokenAsync("responder"));
        var now = s.Time.GetUtcNow().ToUnixTimeMilliseconds();

        var (status, detail) = await PostAsync(c, [0x00, 0x41, 0x42, 0x43]);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("snappy", detail);

        (status, detail) = await PostAsync(c, RemoteWriteCodec.Encode([new(Labels.Of("__name__", "ahead", "job", "x"), [new Sample(now + 365L * 86_400_000, 1)])]));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("ahead{job=\"x\"}", detail);
        Assert.Contains("future", detail);

        (status, detail) = await PostAsync(c, RemoteWriteCodec.Encode([new(Labels.Of("__name__", "m", "blob", new string('x', 4096)), [new Sample(now, 1)])]));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("max_label_value_length", detail);

        (status, detail) = await PostAsync(c, new byte[70_000]);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
        Assert.Contains("remote_write_max_body_bytes", detail);

        (status, _) = await PostAsync(c, RemoteWriteCodec.Encode([new(Labels.Of("__name__", "ok", "job", "x"), [new Sample(now, 1)])]));
        Assert.Equal(HttpStatusCode.NoContent, status);
    }
}
