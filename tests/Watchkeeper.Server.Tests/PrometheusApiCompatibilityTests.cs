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

    private static async Task<(HttpStatusCode Status, JsonElement Doc)> GetAsync(HttpClient c, string path)
    {
        var r = await c.GetAsync(path, TestContext.Current.CancellationToken);
        return (r.StatusCode, await r.Content.ReadFromJsonAsync<JsonElement>(TestContext.Current.CancellationToken));
    }

    /// <summary>Bad times, steps and limits are refused with Prometheus's error type and words, before any evaluation.</summary>
    [Fact]
    public async Task Bad_time_step_and_limit_parameters_are_bad_data_in_prometheus_words()
    {
        await using var s = await TestServer.StartAsync();
        using var c = s.Client(await s.UserTokenAsync("viewer"));
        (string Path, string Error)[] cases =
        [
            // The step overflows int64 nanoseconds: this one used to run until the query timeout.
            ("/query_range?query=up&start=0&end=1e16&step=1e15", "invalid parameter \"step\": cannot parse \"1e15\" to a valid duration. It overflows int64"),
            // Rounds to zero: this one used to answer 500 (division by zero).
            ("/query_range?query=up&start=0&end=60&step=1e-300", "zero or negative query resolution step widths are not accepted. Try a positive integer"),
            ("/query_range?query=up&start=0&end=60&step=0", "zero or negative query resolution step widths are not accepted. Try a positive integer"),
            ("/query_range?query=up&start=0&end=60&step=-15", "zero or negative query resolution step widths are not accepted. Try a positive integer"),
            ("/query_range?query=up&start=0&end=1e16&step=15", "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"),
            ("/query_range?query=up&start=-1e300&end=1e300&step=1e9", "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"),
            ("/query_range?query=up&start=0&end=1100100&step=100", "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"),
            ("/query_range?query=up&start=60&end=0&step=15", "end timestamp must not be before start time"),
            ("/query_range?query=up&start=abc&end=60&step=15", "invalid parameter \"start\": cannot parse \"abc\" to a valid timestamp"),
            ("/query_range?query=up&start=0&end=NaN&step=15", "invalid parameter \"end\": cannot parse \"NaN\" to a valid timestamp"),
            ("/query_range?query=up&end=60&step=15", "invalid parameter \"start\": cannot parse \"\" to a valid timestamp"),
            ("/query_range?query=up&start=0&end=60&step=15x", "invalid parameter \"step\": cannot parse \"15x\" to a valid duration"),
            ("/query_range?query=up&start=0&end=60&step=15&limit=-1", "invalid parameter \"limit\": limit must be non-negative"),
            ("/query?query=up&time=Infinity", "invalid parameter \"time\": cannot parse \"Infinity\" to a valid timestamp"),
            ("/query?query=up&timeout=1e15", "invalid parameter \"timeout\": cannot parse \"1e15\" to a valid duration. It overflows int64"),
            ("/query?query=up&limit=ten", "invalid parameter \"limit\": strconv.Atoi: parsing \"ten\": invalid syntax"),
            ("/series?match[]=up&start=soon", "invalid parameter \"start\": cannot parse \"soon\" to a valid timestamp"),
            ("/series?match[]=up&limit=-5", "invalid parameter \"limit\": limit must be non-negative"),
            ("/labels?end=1e16x", "invalid parameter \"end\": cannot parse \"1e16x\" to a valid timestamp"),
            ("/labels?limit=1.5", "invalid parameter \"limit\": strconv.Atoi: parsing \"1.5\": invalid syntax"),
            ("/label/job/values?start=2026-11-02", "invalid parameter \"start\": cannot parse \"2026-11-02\" to a valid timestamp"),
            ("/label/job/values?limit=x", "invalid parameter \"limit\": strconv.Atoi: parsing \"x\": invalid syntax"),
        ];
        foreach (var (path, error) in cases)
        {
            var (status, doc) = await GetAsync(c, "/prometheus/api/v1" + path);
            Assert.True(status == HttpStatusCode.BadRequest, $"{path}: {(int)status} {doc}");
            Assert.Equal("error", doc.GetProperty("status").GetString());
            Assert.Equal("bad_data", doc.GetProperty("errorType").GetString());
            Assert.Equal(error, doc.GetProperty("error").GetString());
        }
    }

    /// <summary>Times far beyond Prometheus's range clamp to its ends; a range query to the end of time ends.</summary>
    [Fact]
    public async Task A_range_query_to_the_end_of_time_answers()
    {
        await using var s = await TestServer.StartAsync();
        using var c = s.Client(await s.UserTokenAsync("viewer"));
        // end=1e16 is clamped to the end of time, 7,974.999 s after start: 8 steps of 1,000 s. The end used to saturate to the
        // end of int64 instead, which made the range too long here and let longer steps wrap around in the engine.
        var (status, doc) = await GetAsync(c, "/prometheus/api/v1/query_range?query=1&start=9223309901250000&end=1e16&step=1000");
        Assert.Equal(HttpStatusCode.OK, status);
        var values = doc.GetProperty("data").GetProperty("result")[0].GetProperty("values");
        Assert.Equal(8, values.GetArrayLength());
        Assert.Equal(9_223_309_901_257_000, values[7][0].GetDouble());
        (status, doc) = await GetAsync(c, "/prometheus/api/v1/query?query=time()&time=1e300");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(9_223_309_901_257_974.999, doc.GetProperty("data").GetProperty("result")[0].GetDouble());
    }

    [Fact]
    public async Task Limit_truncates_results_with_a_warning()
    {
        await using var s = await TestServer.StartAsync();
        using var c = s.Client(await s.UserTokenAsync("viewer"));
        const string three = "label_replace(vector(1), \"i\", \"a\", \"\", \"\") or label_replace(vector(2), \"i\", \"b\", \"\", \"\") or label_replace(vector(3), \"i\", \"c\", \"\", \"\")";
        var q = Uri.EscapeDataString(three);
        var (status, doc) = await GetAsync(c, $"/prometheus/api/v1/query?query={q}&limit=2");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(2, doc.GetProperty("data").GetProperty("result").GetArrayLength());
        Assert.Equal("results truncated due to limit", doc.GetProperty("warnings")[0].GetString());
        (status, doc) = await GetAsync(c, $"/prometheus/api/v1/query_range?query={q}&start=0&end=60&step=15&limit=1");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(1, doc.GetProperty("data").GetProperty("result").GetArrayLength());
        Assert.Equal("results truncated due to limit", doc.GetProperty("warnings")[0].GetString());
        (status, doc) = await GetAsync(c, $"/prometheus/api/v1/query?query={q}&limit=3");
        Assert.Equal(3, doc.GetProperty("data").GetProperty("result").GetArrayLength());
        Assert.False(doc.TryGetProperty("warnings", out _));
    }

    [Fact]
    public async Task Query_concurrency_is_configurable_and_exported()
    {
        await using var s = await TestServer.StartAsync(editConfig: y => y.Replace("storage: {}", "storage:\n  tsdb:\n    query_max_concurrency: 3", StringComparison.Ordinal));
        using var anon = s.Client();
        var m = IncidentStorageTests.ParseMetrics(await anon.GetStringAsync("/metrics", TestContext.Current.CancellationToken));
        Assert.Equal(3, m["watchkeeper_engine_queries_concurrent_max"]);
        Assert.Equal(0, m["watchkeeper_engine_queries"]);
        Assert.Equal(0, m["watchkeeper_engine_queries_queued"]);
    }
}
