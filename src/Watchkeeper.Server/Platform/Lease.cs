using Npgsql;

namespace Watchkeeper.Server.Platform;

/// <summary>
/// Whether this replica runs the singleton work (rule evaluation, group timers, escalations, notification dispatch).
/// With SQLite the one process always leads; with PostgreSQL the replica holding the lease leads. Workers check
/// <see cref="IsLeader"/> before each unit of work, or run it under <see cref="LeaderToken"/>, which is cancelled the
/// moment leadership is lost.
/// </summary>
public interface ILeadership
{
    bool IsLeader { get; }

    /// <summary>Cancelled when this replica loses (or does not hold) leadership; a fresh token after each gain.</summary>
    CancellationToken LeaderToken { get; }

    /// <summary>A name for this replica (host, process id and a random suffix), as logged.</summary>
    string Identity { get; }

    /// <summary>Raised with the new state when leadership is gained (true) or lost (false).</summary>
    event Action<bool>? Changed;

    /// <summary>Completes when this replica leads (at once if it already does).</summary>
    Task WaitForLeadershipAsync(CancellationToken ct);
}

/// <summary>The single process of a SQLite deployment: always the leader.</summary>
public sealed class SingleProcessLeadership : ILeadership, IDisposable
{
    private readonly CancellationTokenSource _cts = new();
    public bool IsLeader => !_cts.IsCancellationRequested;
    public CancellationToken LeaderToken => _cts.Token;
    public string Identity { get; } = LeaseIdentity.Create();
    public event Action<bool>? Changed { add { } remove { } }
    public Task WaitForLeadershipAsync(CancellationToken ct) => Task.CompletedTask;
    public void Dispose()
    {
        _cts.Cancel();
        _cts.Dispose();
    }
}

internal static class LeaseIdentity
{
    public static string Create() => $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid().ToString("N")[..6]}";
}

/// <summary>
/// A leader lease on PostgreSQL: a session-level advisory lock held on a dedicated (unpooled) connection. Each
/// <see cref="RenewAsync"/> either checks that the lock is still held on a live session (the leader) or tries to take
/// it (the others). A replica that dies drops its session, PostgreSQL releases the lock, and the next renewal of
/// another replica takes it; a leader whose session fails steps down at its next renewal, and the server-side TCP
/// keepalives set on the session make PostgreSQL drop a session whose host vanished. Advisory locks are per database,
/// so deployments sharing a PostgreSQL server but not a database do not contend.
/// </summary>
public sealed class PostgresLease : ILeadership, IAsyncDisposable
{
    /// <summary>The lock key: the bytes of "Watchkee" as a bigint.</summary>
    public const long DefaultKey = 0x5761_7463_686B_6565;

    private readonly string _connectionString;
    private readonly long _key;
    private readonly ILogger _log;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly int _commandTimeoutSeconds;
    private NpgsqlConnection? _conn;
    private CancellationTokenSource _leaderCts;
    private TaskCompletionSource _gained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _isLeader;
    private bool _disposed;
    private int _disposing;

    public PostgresLease(string connectionString, TimeSpan renewInterval, ILogger log, TimeProvider time, long key = DefaultKey)
    {
        var b = new NpgsqlConnectionStringBuilder(connectionString)
        {
            // A pooled connection would outlive Dispose and keep the lock; this session is the lease.
            Pooling = false,
            Timeout = Math.Clamp((int)renewInterval.TotalSeconds, 2, 15),
            ApplicationName = "watchkeeper-lease",
            TcpKeepAlive = true,
        };
        _connectionString = b.ToString();
        _commandTimeoutSeconds = Math.Clamp((int)renewInterval.TotalSeconds, 2, 15);
        _key = key;
        _log = log;
        _time = time;
        _leaderCts = new CancellationTokenSource();
        _leaderCts.Cancel();
        Identity = LeaseIdentity.Create();
    }

    public bool IsLeader => _isLeader;
    public CancellationToken LeaderToken => _leaderCts.Token;
    public string Identity { get; }
    public event Action<bool>? Changed;

    /// <summary>When this replica became the leader, while it leads.</summary>
    public DateTimeOffset? LeaderSince { get; private set; }

    /// <summary>The PostgreSQL backend process of the lease session, or null without one (tests use it).</summary>
    public int? BackendPid => _conn?.State == System.Data.ConnectionState.Open ? _conn.ProcessID : null;

    public Task WaitForLeadershipAsync(CancellationToken ct) => _isLeader ? Task.CompletedTask : _gained.Task.WaitAsync(ct);

    /// <summary>One renewal: keeps, loses or takes the lease. Returns whether this replica leads afterwards.</summary>
    public async Task<bool> RenewAsync(CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_isLeader)
            {
                string? problem;
                try
                {
                    problem = await HoldsLockAsync(ct) ? null : "the advisory lock is no longer held";
                }
                catch (Exception e) when (IsConnectionFailure(e, ct))
                {
                    problem = e.Message;
                }
                if (problem is null) return true;
                await LoseAsync(problem);
            }
            try
            {
                if (_conn is null || _conn.State != System.Data.ConnectionState.Open) await OpenAsync(ct);
                await using var cmd = new NpgsqlCommand("SELECT pg_try_advisory_lock(@k)", _conn) { CommandTimeout = _commandTimeoutSeconds };
                cmd.Parameters.AddWithValue("k", _key);
                if (await cmd.ExecuteScalarAsync(ct) is true) Gain();
            }
            catch (Exception e) when (IsConnectionFailure(e, ct))
            {
                _log.LogDebug(e, "Leader lease: PostgreSQL not reachable for {Identity}", Identity);
                await CloseAsync();
            }
            return _isLeader;
        }
        finally
        {
            _gate.Release();
        }
    }

    private static bool IsConnectionFailure(Exception e, CancellationToken ct) =>
        e is NpgsqlException or TimeoutException or System.Net.Sockets.SocketException or IOException or InvalidOperationException ||
        (e is OperationCanceledException && !ct.IsCancellationRequested);

    private async Task OpenAsync(CancellationToken ct)
    {
        await CloseAsync();
        var conn = new NpgsqlConnection(_connectionString);
        try
        {
            await conn.OpenAsync(ct);
            // Server-side keepalives: PostgreSQL ends the session (and releases the lock) ~25 s after the host vanishes.
            await using var cmd = new NpgsqlCommand(
                "SET tcp_keepalives_idle = 10; SET tcp_keepalives_interval = 5; SET tcp_keepalives_count = 3", conn)
            { CommandTimeout = _commandTimeoutSeconds };
            await cmd.ExecuteNonQueryAsync(ct);
            _conn = conn;
        }
        catch
        {
            await conn.DisposeAsync();
            throw;
        }
    }

    private async Task<bool> HoldsLockAsync(CancellationToken ct)
    {
        if (_conn is null || _conn.State != System.Data.ConnectionState.Open) return false;
        await using var cmd = new NpgsqlCommand(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted " +
            "AND classid::bigint = @hi AND objid::bigint = @lo AND objsubid = 1)", _conn)
        { CommandTimeout = _commandTimeoutSeconds };
        cmd.Parameters.AddWithValue("hi", (_key >> 32) & 0xFFFFFFFFL);
        cmd.Parameters.AddWithValue("lo", _key & 0xFFFFFFFFL);
        return await cmd.ExecuteScalarAsync(ct) is true;
    }

    private void Gain()
    {
        _isLeader = true;
        LeaderSince = _time.GetUtcNow();
        var old = _leaderCts;
        _leaderCts = new CancellationTokenSource();
        old.Dispose();
        _log.LogInformation("Leader lease: this replica ({Identity}) is now the leader", Identity);
        _gained.TrySetResult();
        Changed?.Invoke(true);
    }

    private async Task LoseAsync(string reason)
    {
        _isLeader = false;
        LeaderSince = null;
        _gained = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await _leaderCts.CancelAsync();
        // Closing the session releases the lock if PostgreSQL still holds it for us: step down cleanly.
        await CloseAsync();
        _log.LogWarning("Leader lease: this replica ({Identity}) lost leadership: {Reason}", Identity, reason);
        Changed?.Invoke(false);
    }

    private async Task CloseAsync()
    {
        if (_conn is null) return;
        try
        {
            await _conn.DisposeAsync();
        }
        catch (Exception e) when (e is NpgsqlException or IOException or System.Net.Sockets.SocketException)
        {
            _log.LogDebug(e, "Leader lease: closing the session failed");
        }
        _conn = null;
    }

    /// <summary>Releases the lease (a clean shutdown hands leadership over at the others' next renewal).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposing, 1) == 1) return;
        await _gate.WaitAsync();
        var first = false;
        try
        {
            if (_disposed) return;
            _disposed = first = true;
            if (_isLeader)
            {
                _isLeader = false;
                await _leaderCts.CancelAsync();
                try
                {
                    await using var cmd = new NpgsqlCommand("SELECT pg_advisory_unlock(@k)", _conn) { CommandTimeout = _commandTimeoutSeconds };
                    cmd.Parameters.AddWithValue("k", _key);
                    await cmd.ExecuteScalarAsync();
                }
                catch (Exception e) when (IsConnectionFailure(e, default))
                {
                    _log.LogDebug(e, "Leader lease: unlock on shutdown failed; closing the session releases it");
                }
                _log.LogInformation("Leader lease: this replica ({Identity}) released leadership", Identity);
                Changed?.Invoke(false);
            }
            await CloseAsync();
            _leaderCts.Dispose();
        }
        finally
        {
            _gate.Release();
            if (first) _gate.Dispose();
        }
    }
}
