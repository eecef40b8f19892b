using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Dapper;
using Watchkeeper.Metrics.Model;
using Watchkeeper.Server.Monitoring;
using Watchkeeper.Server.Platform;
using Watchkeeper.Server.Uptime;

namespace Watchkeeper.Server.Tests.Probes;

/// <summary>Hourly and daily availability roll-ups from probe_success and up, on both databases, with a fake clock.</summary>
public sealed class UptimeTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 2, 9, 0, 0, TimeSpan.Zero);

    private static Task<TestServer> StartAsync(bool postgres) =>
        TestServer.StartAsync(postgres, y => y.Replace("up_jobs: [api-service, web-interface]", "up_jobs: [orders]", StringComparison.Ordinal), Start);

    /// <summary>One sample every 30 s over the hour before <see cref="Start"/>; the first <paramref name="bad"/> are 0.</summary>
    private static void Hour(TestServer s, Labels labels, int bad)
    {
        var app = s.Get<MetricsRuntime>().Store.Appender();
        var from = Start.AddHours(-1).ToUnixTimeMilliseconds();
        for (var i = 0; i < 120; i++) Assert.Equal(AppendResult.Ok, app.Append(labels, from + i * 30_000L, i < bad ? 0 : 1));
        app.Commit();
    }

    private static Labels Probe(string component, string name) =>
        Labels.Of("__name__", "probe_success", "component", component, "instance", "http://x/" + name, "job", "probe", "probe", name, "service", "checkout");

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Rollups_count_good_samples_per_service_and_component_and_rerun_idempotently(bool postgres)
    {
        TestServer.SkipUnlessAvailable(postgres);
        await using var s = await StartAsync(postgres);
        Hour(s, Probe("api", "c1"), bad: 6);
        Hour(s, Probe("db", "c2"), bad: 0);
        Hour(s, Labels.Of("__name__", "up", "instance", "o1:80", "job", "orders"), bad: 12);
        Hour(s, Labels.Of("__name__", "up", "instance", "n1:80", "job", "not-listed"), bad: 120);

        var rollup = s.Get<UptimeRollup>();
        var ct = TestContext.Current.CancellationToken;
        Assert.True(await rollup.RunAsync(ct) >= 2);
        var q = s.Get<IUptimeQuery>();

        async Task Check()
        {
            var hour = Assert.Single(await q.HourlyAsync("checkout", "api", Start.AddHours(-1), Start, ct));
            Assert.Equal((114L, 120L), (hour.OkSamples, hour.TotalSamples));
            Assert.Equal(0.95, hour.Availability!.Value, 6);
            var service = Assert.Single(await q.HourlyAsync("checkout", null, Start.AddHours(-1), Start, ct));
            Assert.Equal((234L, 240L), (service.OkSamples, service.TotalSamples));
            var orders = Assert.Single(await q.HourlyAsync("orders", null, Start.AddHours(-1), Start, ct));
            Assert.Equal((108L, 120L), (orders.OkSamples, orders.TotalSamples));

            var days = await q.DailyAsync("checkout", "api", new DateOnly(2026, 10, 31), new DateOnly(2026, 11, 2), ct);
            Assert.Equal(3, days.Count);
            Assert.Equal([0L, 0L, 120L], days.Select(d => d.TotalSamples));
            Assert.Null(days[0].Availability);
            Assert.Equal(114, days[2].OkSamples);

            var keys = await q.KeysAsync(ct);
            Assert.Equal([("checkout", ""), ("checkout", "api"), ("checkout", "db"), ("orders", "")], keys.Select(k => (k.Service, k.Component)));
        }

        await Check();
        await rollup.RunAsync(ct);
        await rollup.RunAsync(ct);
        await Check();

        var summary = await q.SummaryAsync("checkout", "api", 30, ct);
        Assert.Equal(95, summary.AvailabilityPercent!.Value, 6);
        Assert.Equal(99.9, summary.TargetPercent);
        Assert.False(summary.MeetsTarget);
        Assert.Equal(43.2, summary.BudgetMinutes, 6);
        Assert.Equal(43.2 - 0.05 * 30 * 24 * 60, summary.BudgetRemainingMinutes!.Value, 6);
        var db = await q.SummaryAsync("checkout", "db", 30, ct);
        Assert.True(db.MeetsTarget);
        Assert.Equal(100, db.BudgetRemainingPercent!.Value, 6);
        var none = await q.SummaryAsync("nobody", null, 30, ct);
        Assert.Null(none.AvailabilityPercent);
    }

    [Fact]
    public async Task Rollups_are_kept_400_days_and_older_ones_are_deleted()
    {
        await using var s = await StartAsync(false);
        var db = s.Get<Db>();
        var ct = TestContext.Current.CancellationToken;
        long Day(int daysAgo) => new DateTimeOffset(DateOnly.FromDateTime(Start.UtcDateTime).AddDays(-daysAgo).ToDateTime(TimeOnly.MinValue), TimeSpan.Zero).ToUnixTimeMilliseconds();
        await db.WriteAsync(async (c, tx) =>
        {
            foreach (var ago in new[] { 399, 401 })
                await c.ExecuteAsync("INSERT INTO uptime_rollups (service, component, granularity, bucket_start, ok_samples, total_samples, updated_at) VALUES ('old', '', 'day', @t, 1, 1, 0)",
                    new { t = Day(ago) }, tx);
        }, ct);
        await s.Get<UptimeRollup>().RunAsync(ct);
        var left = (await db.ReadAsync(c => c.QueryAsync<long>("SELECT bucket_start FROM uptime_rollups WHERE service = 'old'"), ct)).ToList();
        Assert.Equal([Day(399)], left);
        // A year-old day is still there for the report, whatever the TSDB keeps (15 days here).
        var days = await s.Get<IUptimeQuery>().DailyAsync("old", null, DateOnly.FromDateTime(Start.UtcDateTime).AddDays(-399), DateOnly.FromDateTime(Start.UtcDateTime).AddDays(-399), ct);
        Assert.Equal(1, days[0].TotalSamples);
    }

    [Fact]
    public async Task The_uptime_report_api_lists_services_with_daily_figures()
    {
        await using var s = await StartAsync(false);
        Hour(s, Probe("api", "c1"), bad: 6);
        var ct = TestContext.Current.CancellationToken;
        await s.Get<UptimeRollup>().RunAsync(ct);
        using var viewer = await s.ClientAsAsync("viewer");
        var r = await viewer.GetFromJsonAsync<JsonElement>("/api/v1/reports/uptime?service=checkout&days=7", TestServer.Json, ct);
        Assert.Equal(7, r.GetProperty("days").GetInt32());
        Assert.Equal(99.9, r.GetProperty("target_percent").GetDouble());
        var rows = r.GetProperty("services").EnumerateArray().ToList();
        Assert.Equal(["", "api"], rows.Select(x => x.GetProperty("summary").GetProperty("component").GetString()));
        Assert.Equal(7, rows[1].GetProperty("daily").GetArrayLength());
        Assert.Equal(95, rows[1].GetProperty("summary").GetProperty("availability_percent").GetDouble(), 6);

        var bad = await viewer.GetAsync("/api/v1/reports/uptime?days=500", ct);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("days", await bad.Content.ReadAsStringAsync(ct), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await viewer.GetAsync("/api/v1/reports/uptime?service=nobody", ct)).StatusCode);
    }
}
