using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Watchkeeper.Server.Tests;

/// <summary>Details of the Prometheus API that clients (promtool 2.42, Grafana) depend on; the interop suite checks them against the real peers.</summary>
public sealed class PrometheusApiCompatibilityTests
{
    private static AuthenticationHeaderValue Basic(string user, string password) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(user + ":" + password)));

    [Fact]
    public async Task Api_token_as_basic_auth_password_authenticates_like_a_bearer_token()
    {
        await using var s = await TestServer.StartAsync();
        var token = await s.UserTokenAsync("viewer");
        using var c = s.Client();

        c.DefaultRequestHeaders.Authorization = Basic("promtool", token);
        Assert.Equal(HttpStatusCode.OK, (await c.GetAsync("/prometheus/api/v1/query?query=1")).StatusCode);

        c.DefaultRequestHeaders.Authorization = Basic("promtool", "wk_not-a-token");
        Assert.Equal(HttpStatusCode.Unauthorized, (await c.GetAsync("/prometheus/api/v1/query?query=1")).StatusCode);
        c.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", "not base64!");
        Assert.Equal(HttpStatusCode.Unauthorized, (await c.GetAsync("/prometheus/api/v1/query?query=1")).StatusCode);

        // The role still applies: a viewer's token may not remote-write.
        c.DefaultRequestHeaders.Authorization = Basic("promtool", token);
        using var body = new ByteArrayContent([]);
        body.Headers.ContentEncoding.Add("snappy");
        Assert.Equal(HttpStatusCode.Forbidden, (await c.PostAsync("/prometheus/api/v1/write", body)).StatusCode);
    }

    [Fact]
    public async Task Range_query_of_a_range_vector_is_bad_data()
    {
        await using var s = await TestServer.StartAsync();
        using var c = s.Client(await s.UserTokenAsync("viewer"));
        var r = await c.GetAsync("/prometheus/api/v1/query_range?query=up[5m]&start=0&end=60&step=15");
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        var doc = await r.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("bad_data", doc.GetProperty("errorType").GetString());
        Assert.Equal("invalid expression type \"range vector\" for range query, must be Scalar or instant Vector", doc.GetProperty("error").GetString());
    }
}
