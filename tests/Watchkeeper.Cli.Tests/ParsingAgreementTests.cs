using System.Net;
using Watchkeeper.Metrics.PromQL;
using Watchkeeper.Server.Platform;
using Watchkeeper.Server.Tests;

namespace Watchkeeper.Cli.Tests;

/// <summary>
/// Configuration, the HTTP APIs, PromQL and the CLI read durations and times with one grammar: each string is accepted by
/// all of them or by none.
/// </summary>
public sealed class ParsingAgreementTests
{
    private static readonly string[] Durations =
    [
        "15s", "250ms", "1m30s", "1d2h30m", "2w", "1y", "292y",
        "1m1h", "1s1s", "5minutes", "5x", "1.5h", "-5m", "5 m", "m", "293y", "9223372036855ms",
    ];

    private static readonly string[] Times =
    [
        "1793610000", "1793610000.25", "2026-11-02T09:00:00Z", "2026-11-02T11:00:00.5+02:00", "2026-11-02t09:00:00z",
        "yesterday", "2026-11-02T09:00:00", "2026-13-02T09:00:00Z", "NaN", "2026-11-02 09:00",
    ];

    [Fact]
    public async Task Config_api_promql_and_cli_accept_and_reject_the_same_durations()
    {
        await using var s = await TestServer.StartAsync();
        using var c = s.Client(await s.UserTokenAsync("viewer"));
        var ct = TestContext.Current.CancellationToken;
        foreach (var d in Durations)
        {
            var config = Duration.TryParse(d, out _);
            var cli = TimeArgs.TryParseDuration(d, out _);
            bool promql;
            try
            {
                Parser.Parse($"x[{d}]");
                promql = true;
            }
            catch (ParseException)
            {
                promql = false;
            }
            var api = await c.GetAsync($"/prometheus/api/v1/query_range?query=1&start=0&end=60&step={Uri.EscapeDataString(d)}", ct);
            var apiOk = api.StatusCode == HttpStatusCode.OK;
            Assert.True(config == cli && cli == promql && promql == apiOk,
                $"\"{d}\": config {config}, cli {cli}, promql {promql}, api {(int)api.StatusCode}");
        }
    }

    [Fact]
    public async Task Prometheus_api_own_api_and_cli_accept_and_reject_the_same_times()
    {
        await using var s = await TestServer.StartAsync();
        using var c = s.Client(await s.UserTokenAsync("viewer"));
        var ct = TestContext.Current.CancellationToken;
        foreach (var t in Times)
        {
            bool cli;
            try
            {
                TimeArgs.Time(t, "--from");
                cli = true;
            }
            catch (WkException)
            {
                cli = false;
            }
            var prom = (await c.GetAsync($"/prometheus/api/v1/query?query=1&time={Uri.EscapeDataString(t)}", ct)).StatusCode == HttpStatusCode.OK;
            var own = (await c.GetAsync($"/api/v1/incidents?from={Uri.EscapeDataString(t)}", ct)).StatusCode == HttpStatusCode.OK;
            Assert.True(cli == prom && prom == own, $"\"{t}\": cli {cli}, prometheus api {prom}, incidents api {own}");
        }

        // A calendar date is the one extension of the CLI and Watchkeeper's own API; Prometheus's API refuses it, as Prometheus does.
        Assert.Equal(new DateTimeOffset(2026, 11, 2, 0, 0, 0, TimeSpan.Zero), TimeArgs.Time("2026-11-02", "--from"));
        Assert.Equal(HttpStatusCode.OK, (await c.GetAsync("/api/v1/incidents?from=2026-11-02", ct)).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await c.GetAsync("/prometheus/api/v1/query?query=1&time=2026-11-02", ct)).StatusCode);
    }
}
