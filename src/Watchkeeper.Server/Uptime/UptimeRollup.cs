using Dapper;
using Watchkeeper.Metrics.Model;
using Watchkeeper.Server.Monitoring;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Uptime;

/// <summary>
/// The <c>uptime</c> section: the availability target (the seed's 99.9%), which scrape jobs' <c>up</c> counts as a
/// service, how long roll-ups are kept and how often they are computed.
/// </summary>
public sealed class UptimeConfig
{
    /// <summary>Availability target in percent.</summary>
    public double Target { get; set; } = 99.9;
    /// <summary>The window the error budget is counted over (wk report uptime and the reports page default to it).</summary>
    public Duration Window { get; set; } = new(TimeSpan.FromDays(30));
    /// <summary>How long hourly and daily roll-ups are kept; at least 400 days.</summary>
    public Duration Retention { get; set; } = new(TimeSpan.FromDays(400));
    public Duration RollupInterval { get; set; } = new(TimeSpan.FromMinutes(5));
    /// <summary>Scrape jobs whose <c>up</c> counts for the service of the same name.</summary>
    public List<string> UpJobs { get; set; } = [];

    public static IEnumerable<ConfigError> Check(UptimeConfig c)
    {
        if (double.IsNaN(c.Target) || c.Target <= 0 || c.Target >= 100) yield return new("uptime.target", "must be a percentage between 0 and 100 (e.g. 99.9)");
        if (c.Window.Value < TimeSpan.FromDays(1) || c.Window.Value > TimeSpan.FromDays(400)) yield return new("uptime.window", "must be between 1d and 400d");
        if (c.Retention.Value < TimeSpan.FromDays(400)) yield return new("uptime.retention", "must be at least 400d (yearly figures and 90-day bars read the roll-ups)");
        if (c.RollupInterval.Value < TimeSpan.FromSeconds(10) || c.RollupInterval.Value > TimeSpan.FromHours(1)) yield return new("uptime.rollup_interval", "must be between 10s and 1h");
        for (var i = 0; i < c.UpJobs.Count; i++)
            if (string.IsNullOrWhiteSpace(c.UpJobs[i])) yield return new($"uptime.up_jobs[{i}]", "must not be empty");
    }
}

/// <summary>
/// Computes hourly and daily availability per service and component from the TSDB and upserts it into
/// <c>uptime_rollups</c>: <c>probe_success</c> (by its service and component labels) and <c>up</c> of the jobs in
/// <c>uptime.up_jobs</c> (service = job). A sample of 1 is good; stale markers do not count. Each run recomputes every
/// hour from the stored watermark (the first hour not yet final) to the current one, then the days those hours fall in
/// from the hourly rows, so a re-run writes the same rows (idempotent) and days stay once the TSDB has dropped the samples.
/// </summary>
public sealed class UptimeRollup(Db db, MetricsRuntime metrics, ConfigHolder config, TimeProvider time)
{
    private static readonly long HourMs = (long)TimeSpan.FromHours(1).TotalMilliseconds;
    private static readonly long DayMs = (long)TimeSpan.FromDays(1).TotalMilliseconds;
    private const string Watermark = "hour_watermark";

    /// <summary>Rolls up to now; returns the number of hours computed.</summary>
    public async Task<int> RunAsync(CancellationToken ct = default)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var current = now - now % HourMs;
        var retention = (long)config.Current.Storage.Tsdb.Retention.Value.TotalMilliseconds;
        var stored = await db.ReadAsync(c => c.ExecuteScalarAsync<long?>(new CommandDefinition(
            "SELECT value FROM uptime_state WHERE name = @name", new { name = Watermark }, cancellationToken: ct)), ct);
        var first = stored ?? (now - Math.Min(retention, (long)TimeSpan.FromDays(400).TotalMilliseconds));
        first -= first % HourMs;
        first = Math.Min(first, current - HourMs);

        var hours = new List<(long Start, Dictionary<(string Service, string Component), (long Ok, long Total)> Counts)>();
        for (var h = first; h <= current; h += HourMs) hours.Add((h, Count(h, Math.Min(h + HourMs, now + 1))));

        var keep = now - (long)config.Current.Uptime.Retention.Value.TotalMilliseconds;
        await db.WriteAsync(async (c, tx) =>
        {
            foreach (var (start, counts) in hours)
                foreach (var ((service, component), (ok, total)) in counts)
                    await Upsert(c, tx, service, component, "hour", start, ok, total, now);
            // The days those hours fall in, from the hourly rows (so earlier hours of the day count too).
            var days = hours.Select(h => h.Start - h.Start % DayMs).Distinct().ToList();
            foreach (var day in days)
            {
                var sums = await c.QueryAsync<SumRow>(
                    "SELECT service, component, CAST(SUM(ok_samples) AS BIGINT) AS ok, CAST(SUM(total_samples) AS BIGINT) AS total FROM uptime_rollups "
                    + "WHERE granularity = 'hour' AND bucket_start >= @day AND bucket_start < @end GROUP BY service, component",
                    new { day, end = day + DayMs }, tx);
                foreach (var s in sums) await Upsert(c, tx, s.Service, s.Component, "day", day, s.Ok, s.Total, now);
            }
            await c.ExecuteAsync("DELETE FROM uptime_rollups WHERE bucket_start < @keep", new { keep }, tx);
            await c.ExecuteAsync(
                "INSERT INTO uptime_state (name, value) VALUES (@name, @value) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                new { name = Watermark, value = current }, tx);
        }, ct);
        return hours.Count;
    }

    private sealed class SumRow
    {
        public string Service { get; set; } = "";
        public string Component { get; set; } = "";
        public long Ok { get; set; }
        public long Total { get; set; }
    }

    private static Task Upsert(System.Data.Common.DbConnection c, System.Data.Common.DbTransaction tx, string service, string component, string granularity,
        long start, long ok, long total, long now) =>
        c.ExecuteAsync(
            "INSERT INTO uptime_rollups (service, component, granularity, bucket_start, ok_samples, total_samples, updated_at) "
            + "VALUES (@service, @component, @granularity, @start, @ok, @total, @now) "
            + "ON CONFLICT (service, component, granularity, bucket_start) DO UPDATE SET ok_samples = excluded.ok_samples, "
            + "total_samples = excluded.total_samples, updated_at = excluded.updated_at",
            new { service, component, granularity, start, ok, total, now }, tx);

    /// <summary>Good and total samples in [start, end) per (service, component) and per (service, "").</summary>
    internal Dictionary<(string, string), (long Ok, long Total)> Count(long start, long end)
    {
        var counts = new Dictionary<(string, string), (long Ok, long Total)>();
        void Add(string service, string component, ReadOnlySpan<Sample> samples)
        {
            long ok = 0, total = 0;
            foreach (var s in samples)
            {
                if (s.T < start || s.T >= end || StaleNaN.Is(s.V) || double.IsNaN(s.V)) continue;
                total++;
                if (s.V >= 0.5) ok++;
            }
            if (total == 0) return;
            Bump((service, ""));
            if (component.Length > 0) Bump((service, component));

            void Bump((string, string) key)
            {
                var v = counts.GetValueOrDefault(key);
                counts[key] = (v.Ok + ok, v.Total + total);
            }
        }

        var querier = metrics.Querier;
        foreach (var s in querier.Select(start, end - 1, [new LabelMatcher(MatchOp.Equal, Labels.MetricName, "probe_success")]))
        {
            var service = s.Labels.Get("service");
            if (string.IsNullOrEmpty(service)) continue;
            Add(service, s.Labels.GetOrEmpty("component"), Span(s.Samples));
        }
        var jobs = config.Current.Uptime.UpJobs;
        if (jobs.Count > 0)
        {
            foreach (var s in querier.Select(start, end - 1, [new LabelMatcher(MatchOp.Equal, Labels.MetricName, "up")]))
            {
                var job = s.Labels.GetOrEmpty("job");
                if (jobs.Contains(job)) Add(job, "", Span(s.Samples));
            }
        }
        return counts;
    }

    private static ReadOnlySpan<Sample> Span(IReadOnlyList<Sample> samples) => samples is Sample[] a ? a : samples.ToArray();

    /// <summary>Runs <see cref="RunAsync"/> every uptime.rollup_interval on the replica that leads.</summary>
    public sealed class Worker(UptimeRollup rollup, ConfigHolder config, ILeadership leadership, TimeProvider time, ILogger<Worker> log) : BackgroundService
    {
        protected override async Task ExecuteAsync(CancellationToken stoppingToken)
        {
            using var timer = new PeriodicTimer(config.Current.Uptime.RollupInterval.Value, time);
            try
            {
                while (await timer.WaitForNextTickAsync(stoppingToken))
                {
                    // Off the timer's thread, so ticks that fall due together (a clock that jumped) roll up once.
                    await Task.Yield();
                    if (!leadership.IsLeader) continue;
                    try
                    {
                        await rollup.RunAsync(stoppingToken);
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException)
                    {
                        log.LogError(ex, "Uptime roll-up failed");
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

}
