using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Tests;

/// <summary>
/// The leader lease for singleton work: with several replicas on one PostgreSQL database exactly one leads, and when
/// the leader's session ends (killed process, terminated backend, shutdown) another takes over at its next renewal.
/// </summary>
public sealed class LeaseTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    private static PostgresLease NewLease(string db, TimeProvider? time = null) =>
        new(TestServer.PostgresConnectionStringFor(db), Interval, NullLogger.Instance, time ?? new FakeTimeProvider());

    private static async Task ExecAsync(string db, string sql, params (string, object)[] args)
    {
        await using var c = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(TestServer.PostgresConnectionStringFor(db)) { Pooling = false }.ToString());
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, c);
        foreach (var (n, v) in args) cmd.Parameters.AddWithValue(n, v);
        await cmd.ExecuteNonQueryAsync();
    }

    /// <summary>Blocks until no other session holds the lease lock (PostgreSQL released it), then lets it go again.</summary>
    private static Task WaitForLockReleaseAsync(string db) =>
        ExecAsync(db, "SET lock_timeout = '20s'; SELECT pg_advisory_lock(@k); SELECT pg_advisory_unlock(@k)", ("k", PostgresLease.DefaultKey));

    private static async Task WithDatabaseAsync(Func<string, Task> test)
    {
        TestServer.SkipUnlessAvailable(true);
        var db = await TestServer.CreatePostgresDatabaseAsync();
        try
        {
            await test(db);
        }
        finally
        {
            await TestServer.DropPostgresDatabaseAsync(db);
        }
    }

    [Fact]
    public Task Two_leases_on_one_database_only_one_leads() => WithDatabaseAsync(async db =>
    {
        await using var a = NewLease(db);
        await using var b = NewLease(db);
        Assert.True(await a.RenewAsync(default));
        Assert.False(await b.RenewAsync(default));
        Assert.True(await a.RenewAsync(default));
        Assert.False(await b.RenewAsync(default));
        Assert.True(a.IsLeader);
        Assert.False(a.LeaderToken.IsCancellationRequested);
        Assert.False(b.IsLeader);
        Assert.True(b.LeaderToken.IsCancellationRequested);
        Assert.False(b.WaitForLeadershipAsync(default).IsCompleted);
        Assert.True(a.WaitForLeadershipAsync(default).IsCompleted);
    });

    [Fact]
    public Task When_the_leaders_session_is_killed_the_other_takes_over_and_the_old_leader_steps_down() => WithDatabaseAsync(async db =>
    {
        await using var a = NewLease(db);
        await using var b = NewLease(db);
        Assert.True(await a.RenewAsync(default));
        Assert.False(await b.RenewAsync(default));
        var token = a.LeaderToken;
        var lost = new TaskCompletionSource<bool>();
        a.Changed += v => lost.TrySetResult(v);
        var bGained = b.WaitForLeadershipAsync(default);

        await ExecAsync(db, "SELECT pg_terminate_backend(@p)", ("p", a.BackendPid!.Value));
        await WaitForLockReleaseAsync(db);

        Assert.True(await b.RenewAsync(default));
        Assert.True(bGained.IsCompleted);
        Assert.False(await a.RenewAsync(default));
        Assert.False(a.IsLeader);
        Assert.True(token.IsCancellationRequested);
        Assert.False(await lost.Task.WaitAsync(TimeSpan.FromSeconds(10)));
        // The old leader keeps trying and stays a follower while b leads.
        Assert.False(await a.RenewAsync(default));
        Assert.True(await b.RenewAsync(default));
    });

    [Fact]
    public Task A_disposed_leader_hands_over_at_the_next_renewal() => WithDatabaseAsync(async db =>
    {
        var a = NewLease(db);
        await using var b = NewLease(db);
        Assert.True(await a.RenewAsync(default));
        var token = a.LeaderToken;
        Assert.False(await b.RenewAsync(default));
        await a.DisposeAsync();
        Assert.True(token.IsCancellationRequested);
        Assert.True(await b.RenewAsync(default));
    });

    [Fact]
    public Task A_killed_process_drops_its_session_and_its_lock() => WithDatabaseAsync(async db =>
    {
        // A real process holds the lock on an idle session, then is killed with SIGKILL.
        var psql = FindPsql();
        if (psql is null)
        {
            TestServer.MissingPeer("psql not found (Debian package postgresql-client)");
            return;
        }
        var cs = new NpgsqlConnectionStringBuilder(TestServer.PostgresConnectionStringFor(db));
        var psi = new ProcessStartInfo(psql, ["-X", "-q", "-h", cs.Host!, "-p", cs.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-U", cs.Username!, "-d", db])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var proc = Process.Start(psi)!;
        try
        {
            await proc.StandardInput.WriteLineAsync($"SELECT pg_advisory_lock({PostgresLease.DefaultKey}); SELECT 'locked';");
            await proc.StandardInput.FlushAsync();
            string? line;
            while ((line = await proc.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(20))) is not null && !line.Contains("locked", StringComparison.Ordinal)) { }
            Assert.NotNull(line);

            await using var lease = NewLease(db);
            Assert.False(await lease.RenewAsync(default));
            proc.Kill(entireProcessTree: true);
            await proc.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));
            await WaitForLockReleaseAsync(db);
            Assert.True(await lease.RenewAsync(default));
        }
        finally
        {
            if (!proc.HasExited) proc.Kill(true);
        }
    });

    [Fact]
    public Task The_worker_renews_on_the_injected_clock() => WithDatabaseAsync(async db =>
    {
        var time = new FakeTimeProvider();
        await using var a = NewLease(db);
        Assert.True(await a.RenewAsync(default));
        var b = NewLease(db, time);
        var holder = new ConfigHolder("unused.yml", new WatchkeeperConfig
        {
            Storage = new StorageConfig { Postgres = new PostgresConfig { ConnectionString = "unused", LeaseInterval = new Duration(Interval) } },
        });
        using var worker = new LeaseWorker(b, holder, time, NullLogger<LeaseWorker>.Instance);
        var gained = new TaskCompletionSource();
        b.Changed += v => { if (v) gained.TrySetResult(); };
        await worker.StartAsync(default);
        try
        {
            // The first renewal runs at start: a leads, so b follows.
            await WaitUntilAsync(() => b.BackendPid is not null);
            Assert.False(b.IsLeader);
            await ExecAsync(db, "SELECT pg_terminate_backend(@p)", ("p", a.BackendPid!.Value));
            await WaitForLockReleaseAsync(db);
            Assert.False(b.IsLeader);
            time.Advance(Interval);
            await gained.Task.WaitAsync(TimeSpan.FromSeconds(20));
            Assert.True(b.IsLeader);
        }
        finally
        {
            await worker.StopAsync(default);
        }
        Assert.False(b.IsLeader);
    });

    [Fact]
    public async Task Sqlite_server_always_leads_and_reports_the_gauge()
    {
        await using var s = await TestServer.StartAsync();
        var l = s.Get<ILeadership>();
        Assert.True(l.IsLeader);
        Assert.IsType<SingleProcessLeadership>(l);
        using var c = s.Client();
        Assert.Contains("\nwatchkeeper_leader 1\n", await c.GetStringAsync("/metrics"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Two_postgres_replicas_one_leads_and_the_other_takes_over_when_it_stops()
    {
        TestServer.SkipUnlessAvailable(true);
        var db = await TestServer.CreatePostgresDatabaseAsync();
        try
        {
            var first = await TestServer.StartAsync(postgres: true, pgDatabase: db);
            var l1 = first.Get<ILeadership>();
            await l1.WaitForLeadershipAsync(default).WaitAsync(TimeSpan.FromSeconds(20));
            await using var second = await TestServer.StartAsync(postgres: true, pgDatabase: db);
            var l2 = second.Get<ILeadership>();
            await WaitUntilAsync(() => ((PostgresLease)l2).BackendPid is not null);
            Assert.False(l2.IsLeader);
            using (var c = second.Client())
                Assert.Contains("\nwatchkeeper_leader 0\n", await c.GetStringAsync("/metrics"), StringComparison.Ordinal);

            await first.DisposeAsync();
            second.Time.Advance(TimeSpan.FromSeconds(5));
            await l2.WaitForLeadershipAsync(default).WaitAsync(TimeSpan.FromSeconds(20));
            using (var c = second.Client())
                Assert.Contains("\nwatchkeeper_leader 1\n", await c.GetStringAsync("/metrics"), StringComparison.Ordinal);
        }
        finally
        {
            await TestServer.DropPostgresDatabaseAsync(db);
        }
    }

    /// <summary>Waits (bounded) for a condition that a background renewal makes true.</summary>
    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (var i = 0; i < 400 && !condition(); i++) await Task.Delay(50);
        Assert.True(condition());
    }

    private static string? FindPsql()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Concat(Directory.Exists("/usr/lib/postgresql") ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin")) : []))
        {
            var p = Path.Combine(dir, "psql");
            if (File.Exists(p)) return p;
        }
        return null;
    }
}
