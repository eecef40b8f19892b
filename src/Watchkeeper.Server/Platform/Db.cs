using System.Data;
using System.Data.Common;
using Dapper;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Watchkeeper.Server.Platform;

public enum DbProvider { Sqlite, Postgres }

/// <summary>
/// The relational store: SQLite in WAL mode in the data directory by default, PostgreSQL when
/// <c>storage.postgres.connection_string</c> is set. One schema for both; SQL is written to run on both.
/// </summary>
public sealed class Db : IDisposable
{
    private readonly string _connectionString;
    private readonly NpgsqlDataSource? _pg;
    // SQLite has one writer at a time; queueing writers in-process avoids busy retries.
    private readonly SemaphoreSlim _sqliteWriteLock = new(1, 1);

    static Db()
    {
        DefaultTypeMap.MatchNamesWithUnderscores = true;
    }

    private Db(DbProvider provider, string connectionString)
    {
        Provider = provider;
        _connectionString = connectionString;
        if (provider == DbProvider.Postgres) _pg = NpgsqlDataSource.Create(connectionString);
    }

    public DbProvider Provider { get; }

    /// <summary>
    /// Bumped after every committed <see cref="WriteAsync{T}"/>. With SQLite this process is the only writer, so a
    /// read result tagged with the generation read before the query stays valid while the generation is unchanged.
    /// Always 0 with PostgreSQL (other replicas write too): callers must not cache on it then.
    /// </summary>
    public long WriteGeneration => Volatile.Read(ref _writeGeneration);
    private long _writeGeneration;

    /// <summary>True when <see cref="WriteGeneration"/> covers every write to the database (SQLite).</summary>
    public bool SingleWriter => Provider == DbProvider.Sqlite;
    public string Description => Provider == DbProvider.Sqlite ? "sqlite " + new SqliteConnectionStringBuilder(_connectionString).DataSource : "postgres";

    public static Db Sqlite(string path)
    {
        var dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        var cs = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
        return new Db(DbProvider.Sqlite, cs);
    }

    public static Db Postgres(string connectionString) => new(DbProvider.Postgres, connectionString);

    public static Db FromConfig(WatchkeeperConfig config, string dataDir) =>
        config.Storage.Postgres is { } pg
            ? Postgres(pg.ConnectionString)
            : Sqlite(System.IO.Path.Combine(dataDir, "watchkeeper.db"));

    public async Task<DbConnection> OpenAsync(CancellationToken ct = default)
    {
        if (_pg is not null) return await _pg.OpenConnectionAsync(ct);
        var c = new SqliteConnection(_connectionString);
        await c.OpenAsync(ct);
        // Per connection: wait for locks rather than fail, and sync the WAL at checkpoints
        // (a committed transaction survives a process crash; journal_mode=WAL is persistent).
        using var cmd = c.CreateCommand();
        cmd.CommandText = "PRAGMA busy_timeout=10000; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;";
        await cmd.ExecuteNonQueryAsync(ct);
        return c;
    }

    /// <summary>Runs <paramref name="work"/> in a write transaction, committed when it returns.</summary>
    public async Task<T> WriteAsync<T>(Func<DbConnection, DbTransaction, Task<T>> work, CancellationToken ct = default)
    {
        if (Provider == DbProvider.Sqlite) await _sqliteWriteLock.WaitAsync(ct);
        try
        {
            await using var conn = await OpenAsync(ct);
            await using var tx = await conn.BeginTransactionAsync(IsolationLevel.ReadCommitted, ct);
            var result = await work(conn, tx);
            await tx.CommitAsync(ct);
            if (Provider == DbProvider.Sqlite) Interlocked.Increment(ref _writeGeneration);
            if (_onCommit.TryGetValue(tx, out var actions))
            {
                _onCommit.Remove(tx);
                foreach (var a in actions) a();
            }
            return result;
        }
        finally
        {
            if (Provider == DbProvider.Sqlite) _sqliteWriteLock.Release();
        }
    }

    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<DbTransaction, List<Action>> _onCommit = [];

    /// <summary>
    /// Runs <paramref name="work"/> in a write transaction that is always rolled back: nothing it writes stays and
    /// its <see cref="OnCommit"/> actions never run. For warming statements up (see NotificationSender.WarmUpAsync).
    /// </summary>
    public async Task RollbackAsync(Func<DbConnection, DbTransaction, Task> work, CancellationToken ct = default)
    {
        if (Provider == DbProvider.Sqlite) await _sqliteWriteLock.WaitAsync(ct);
        try
        {
            await using var conn = await OpenAsync(ct);
            await using var tx = await conn.BeginTransactionAsync(IsolationLevel.ReadCommitted, ct);
            try
            {
                await work(conn, tx);
            }
            finally
            {
                await tx.RollbackAsync(CancellationToken.None);
                _onCommit.Remove(tx);
            }
        }
        finally
        {
            if (Provider == DbProvider.Sqlite) _sqliteWriteLock.Release();
        }
    }

    /// <summary>
    /// Runs <paramref name="action"/> after the <see cref="WriteAsync{T}"/> transaction <paramref name="tx"/> commits
    /// (never if it rolls back): in-memory state derived from a write (metrics, the audit head) follows committed data only.
    /// </summary>
    public void OnCommit(DbTransaction tx, Action action) => _onCommit.GetOrAdd(tx, _ => []).Add(action);

    public async Task WriteAsync(Func<DbConnection, DbTransaction, Task> work, CancellationToken ct = default) =>
        await WriteAsync<bool>(async (c, t) => { await work(c, t); return true; }, ct);

    public async Task<T> ReadAsync<T>(Func<DbConnection, Task<T>> work, CancellationToken ct = default)
    {
        await using var conn = await OpenAsync(ct);
        return await work(conn);
    }

    /// <summary>SQL for "case-insensitive contains" on this provider.</summary>
    public string ILike => Provider == DbProvider.Postgres ? "ILIKE" : "LIKE";

    public void Dispose()
    {
        _pg?.Dispose();
        _sqliteWriteLock.Dispose();
        if (Provider == DbProvider.Sqlite) SqliteConnection.ClearAllPools();
    }
}
