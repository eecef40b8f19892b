using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Watchkeeper.Server.Tests;

public sealed class IncidentApiTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Declared_incident_gets_matrix_sla_and_checklist(bool postgres)
    {
        TestServer.SkipUnlessAvailable(postgres);
        await using var s = await TestServer.StartAsync(postgres);
        using var c = s.Client(await s.AdminTokenAsync());
        var r = await c.PostAsJsonAsync("/api/v1/incidents", new { title = "API down", severity = "SEV1", services_affected = new[] { "api-service" } });
        Assert.Equal(HttpStatusCode.Created, r.StatusCode);
        var inc = await r.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("investigating", inc.GetProperty("status").GetString());
        Assert.Equal(300, inc.GetProperty("response_sla").GetProperty("target_seconds").GetDouble());
        Assert.Equal(3600, inc.GetProperty("resolution_sla").GetProperty("target_seconds").GetDouble());
        Assert.Equal("\"1\"", r.Headers.ETag!.Tag);

        var cl = await c.GetFromJsonAsync<JsonElement>("/api/v1/incidents/1/checklist");
        Assert.Equal(5, cl.GetProperty("phases").GetArrayLength());
        Assert.Equal(20, cl.GetProperty("total").GetInt32());
    }

    [Fact]
    public async Task Invalid_transition_is_409_with_allowed_states()
    {
        await using var s = await TestServer.StartAsync();
        using var c = s.Client(await s.AdminTokenAsync());
        await c.PostAsJsonAsync("/api/v1/incidents", new { title = "x", severity = "SEV3" });
        var ok = await c.PostAsJsonAsync("/api/v1/incidents/1/resolve", new { message = "fixed" });
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        var bad = await c.PostAsJsonAsync("/api/v1/incidents/1/status", new { status = "monitoring" });
        Assert.Equal(HttpStatusCode.Conflict, bad.StatusCode);
        Assert.Equal("application/problem+json", bad.Content.Headers.ContentType!.MediaType);
        var p = await bad.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(["investigating"], p.GetProperty("allowed").EnumerateArray().Select(x => x.GetString()));
    }

    [Fact]
    public async Task Stale_if_match_is_412()
    {
        await using var s = await TestServer.StartAsync();
        using var c = s.Client(await s.AdminTokenAsync());
        await c.PostAsJsonAsync("/api/v1/incidents", new { title = "x", severity = "SEV3" });
        var req = new HttpRequestMessage(HttpMethod.Patch, "/api/v1/incidents/1") { Content = JsonContent.Create(new { summary = "a" }) };
        req.Headers.TryAddWithoutValidation("If-Match", "\"1\"");
        Assert.Equal(HttpStatusCode.OK, (await c.SendAsync(req)).StatusCode);
        var stale = new HttpRequestMessage(HttpMethod.Patch, "/api/v1/incidents/1") { Content = JsonContent.Create(new { summary = "b" }) };
        stale.Headers.TryAddWithoutValidation("If-Match", "\"1\"");
        var r = await c.SendAsync(stale);
        Assert.Equal(HttpStatusCode.PreconditionFailed, r.StatusCode);
        Assert.Equal("\"2\"", r.Headers.ETag!.Tag);
    }

    [Fact]
    public async Task Validation_error_names_the_field()
    {
        await using var s = await TestServer.StartAsync();
        using var c = s.Client(await s.AdminTokenAsync());
        var r = await c.PostAsJsonAsync("/api/v1/incidents", new { title = "x", severity = "SEV9" });
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        var p = await r.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(p.GetProperty("errors").TryGetProperty("severity", out _));
        Assert.Equal(0, (await c.GetFromJsonAsync<JsonElement>("/api/v1/incidents")).GetProperty("total").GetInt32());
    }
}
