using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using Watchkeeper.Metrics.Model;
using Watchkeeper.Metrics.RemoteWrite;

namespace Watchkeeper.Interop.Tests;

/// <summary>
/// promtool (2.42) queries Watchkeeper's Prometheus API under /prometheus: instant, range, series and labels print the
/// expected values for known remote-written data, and exactly what promtool prints for the same data in a real Prometheus.
/// </summary>
public sealed class PromtoolTests
{
    /// <summary>Known data: two counters and a gauge every 15 s for 10 minutes, ending on a whole minute before now.</summary>
    internal static (long BaseSeconds, List<TimeSeriesData> Series) KnownData()
    {
        var @base = DateTimeOffset.UtcNow.ToUnixTimeSeconds() / 60 * 60 - 600;
        List<Sample> Points(Func<int, double> f) => [.. Enumerable.Range(0, 41).Select(i => new Sample((@base + i * 15) * 1000, f(i)))];
        return (@base,
        [
            new(Labels.Of("__name__", "interop_requests_total", "job", "promtool", "instance", "a"), Points(i => i * 10)),
            new(Labels.Of("__name__", "interop_requests_total", "job", "promtool", "instance", "b"), Points(i => i * 5)),
            new(Labels.Of("__name__", "interop_temperature_celsius", "job", "promtool", "instance", "a"), Points(i => 20.5 + i % 4 * 0.25)),
        ]);
    }

    internal static async Task WriteAsync(Uri url, string? bearer, List<TimeSeriesData> series)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        using var content = new ByteArrayContent(RemoteWriteCodec.Encode(series));
        content.Headers.ContentType = new MediaTypeHeaderValue(RemoteWriteCodec.ContentType);
        content.Headers.ContentEncoding.Add(RemoteWriteCodec.ContentEncoding);
        using var req = new HttpRequestMessage(HttpMethod.Post, url) { Content = content };
        req.Headers.TryAddWithoutValidation(RemoteWriteCodec.VersionHeader, RemoteWriteCodec.Version);
        if (bearer is not null) req.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        using var r = await http.SendAsync(req);
        Assert.True(r.IsSuccessStatusCode, $"remote write to {url}: {(int)r.StatusCode} {await r.Content.ReadAsStringAsync()}");
    }

    /// <summary>Watchkeeper and a Prometheus with the remote write receiver, both given <paramref name="data"/>, and clients of both APIs.</summary>
    internal static async Task<(WatchkeeperHost Wk, PrometheusPeer Prom, PromClient W, PromClient P)> StartPairAsync(string promBin, List<TimeSeriesData> data)
    {
        var wk = await WatchkeeperHost.StartAsync();
        await WriteAsync(new Uri(wk.BaseAddress, "/prometheus/api/v1/write"), await wk.TokenAsync("responder"), data);
        var prom = await PrometheusPeer.StartAsync(promBin, "global:\n  scrape_interval: 15s\n", "--web.enable-remote-write-receiver");
        await WriteAsync(new Uri(prom.BaseAddress, "/api/v1/write"), null, data);
        return (wk, prom, new PromClient(wk.PrometheusApi, await wk.TokenAsync("viewer")) { Name = "watchkeeper" },
            new PromClient(new Uri(prom.BaseAddress, "/")) { Name = "prometheus" });
    }

    /// <summary>promtool 2.42 has no --http.config.file: the token goes as the Basic password in the URL (newer promtool: a config file).</summary>
    private static async Task<Func<string[], string[]>> AuthArgsAsync(string promtool, Uri api, string token, string dir)
    {
        var (_, help, helpErr) = await PeerProcess.RunAsync(promtool, ["query", "instant", "--help"], TimeSpan.FromSeconds(20));
        if ((help + helpErr).Contains("http.config.file", StringComparison.Ordinal))
        {
            var file = Path.Combine(dir, "http.yml");
            await File.WriteAllTextAsync(file, $"authorization:\n  credentials: '{token}'\n");
            return args => [args[0], args[1], "--http.config.file=" + file, .. args[2..], api.ToString()];
        }
        var withUser = new UriBuilder(api) { UserName = "promtool", Password = token }.Uri.ToString();
        return args => [args[0], args[1], .. args[2..], withUser];
    }

    private static async Task<string> RunAsync(string promtool, string[] args, string expr)
    {
        string[] full = expr.Length > 0 ? [.. args, expr] : args;
        var (code, stdout, stderr) = await PeerProcess.RunAsync(promtool, full, TimeSpan.FromSeconds(30));
        Assert.True(code == 0, $"promtool {string.Join(' ', full)} exited {code}: {stderr}{stdout}");
        return stdout.TrimEnd();
    }

    [Fact]
    public async Task Promtool_queries_print_the_known_values_and_what_prometheus_prints()
    {
        var promtool = Peers.Require(Peers.Promtool, "promtool (Debian package prometheus)");
        var promBin = Peers.Require(Peers.Prometheus, "prometheus (Debian package prometheus)");
        var (b, data) = KnownData();

        await using var wk = await WatchkeeperHost.StartAsync();
        var viewer = await wk.TokenAsync("viewer");
        await WriteAsync(new Uri(wk.BaseAddress, "/prometheus/api/v1/write"), await wk.TokenAsync("responder"), data);
        await using var prom = await PrometheusPeer.StartAsync(promBin, "global:\n  scrape_interval: 15s\n", "--web.enable-remote-write-receiver");
        await WriteAsync(new Uri(prom.BaseAddress, "/api/v1/write"), null, data);

        var dir = Directory.CreateTempSubdirectory("wk-interop-promtool-").FullName;
        try
        {
            var wkArgs = await AuthArgsAsync(promtool, wk.PrometheusApi, viewer, dir);
            string[] PromArgs(string[] a) => [.. a, prom.BaseAddress.ToString()];

            // The same command against both servers prints the same text; the text holds the known values.
            async Task<string> Both(string expr, params string[] args)
            {
                var expected = await RunAsync(promtool, PromArgs(args), expr);
                var actual = await RunAsync(promtool, wkArgs(args), expr);
                Assert.Equal(expected, actual);
                return actual;
            }

            var sum = await Both("sum(interop_requests_total)", "query", "instant", $"--time={b + 300}");
            Assert.Equal($"{{}} => 300 @[{b + 300}]", sum);

            // Off the 15 s grid: see KnownGapsTests for evaluation on it.
            var rate = await Both("rate(interop_requests_total[5m])", "query", "instant", $"--time={b + 607.5}");
            Assert.Equal(
                $"{{instance=\"a\", job=\"promtool\"}} => 0.6666666666666666 @[{b + 607.5}]\n{{instance=\"b\", job=\"promtool\"}} => 0.3333333333333333 @[{b + 607.5}]",
                rate);

            var rfc3339 = DateTimeOffset.FromUnixTimeSeconds(b + 450).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
            var json = await Both("interop_temperature_celsius", "query", "instant", "-o", "json", $"--time={rfc3339}");
            Assert.Contains($"\"value\":[{b + 450},\"21\"]", json, StringComparison.Ordinal); // i = 30: 20.5 + 2 * 0.25

            var range = await Both("interop_temperature_celsius", "query", "range", $"--start={b}", $"--end={b + 60}", "--step=15s");
            Assert.Equal(
                $"interop_temperature_celsius{{instance=\"a\", job=\"promtool\"}} =>\n20.5 @[{b}]\n20.75 @[{b + 15}]\n21 @[{b + 30}]\n21.25 @[{b + 45}]\n20.5 @[{b + 60}]",
                range);

            var rangeJson = await Both("sum by (job) (increase(interop_requests_total[1m]))", "query", "range", "-o", "json",
                $"--start={b + 127.5}", $"--end={b + 247.5}", "--step=1m");
            Assert.Contains($"[{b + 127.5},\"60\"],[{b + 187.5},\"60\"],[{b + 247.5},\"60\"]", rangeJson, StringComparison.Ordinal);

            var series = await Both("", "query", "series", "--match=interop_requests_total", $"--start={b}", $"--end={b + 600}");
            Assert.Equal(
                "{__name__=\"interop_requests_total\", instance=\"a\", job=\"promtool\"}\n{__name__=\"interop_requests_total\", instance=\"b\", job=\"promtool\"}",
                series);

            var labels = await Both("instance", "query", "labels", $"--start={b}", $"--end={b + 600}");
            Assert.Equal("a\nb", labels);

            // Without --start/--end promtool sends its minimum and maximum times (about +-292 million years).
            Assert.Equal(series, await Both("", "query", "series", "--match=interop_requests_total"));
            Assert.Equal(labels, await Both("instance", "query", "labels", "--match=interop_requests_total"));

            // The bearer token as a header (promtool 2.42 query range --header) works too; no credentials do not.
            var withHeader = await RunAsync(promtool,
                ["query", "range", "--header=Authorization=Bearer " + viewer, $"--start={b}", $"--end={b + 60}", "--step=15s", wk.PrometheusApi.ToString()],
                "interop_temperature_celsius");
            Assert.Equal(range, withHeader);
            var (code, _, err) = await PeerProcess.RunAsync(promtool, ["query", "instant", wk.PrometheusApi.ToString(), "up"], TimeSpan.FromSeconds(30));
            Assert.NotEqual(0, code);
            Assert.Contains("401", err, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
