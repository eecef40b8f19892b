using System.Data.Common;
using System.Text.RegularExpressions;
using Dapper;
using Microsoft.Data.Sqlite;
using Npgsql;
using Watchkeeper.Server.Monitoring;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Backups;

/// <summary>A backup as the API, the CLI and a maintenance run see it.</summary>
public sealed record BackupSummary(
    string Name, string Folder, DateTimeOffset CreatedAt, string CreatedBy, string Reason, string DatabaseProvider, int SchemaVersion,
    int Files, long Bytes, int TsdbBlocks, int TsdbWalFiles, string ManifestSha256)
{
    public static BackupSummary From(string folder, BackupManifest m) => new(m.Name, folder, m.CreatedAt, m.CreatedBy, m.Reason, m.Database.Provider,
        m.Database.SchemaVersion, m.Files.Count, m.TotalBytes, m.Tsdb.Blocks, m.Tsdb.WalFiles, BackupFolder.Sha256(Path.Combine(folder, BackupManifest.FileName)));
}

/// <summary>
/// Backups of Watchkeeper's own data: the relational database (SQLite online backup, or <c>pg_dump</c>), a consistent
/// TSDB snapshot, the audit key and the cookie keys, into a timestamped folder with a SHA-256 manifest. The maintenance
/// process's "backup taken" step calls <see cref="CreateAsync"/>.
/// </summary>
public interface IBackupService
{
    /// <summary>The folder backups are written to (<c>backups.directory</c>, relative to the data directory).</summary>
    string Directory { get; }

    /// <summary>Takes a backup now; one at a time (a second caller waits). <paramref name="reason"/> is recorded in the manifest.</summary>
    Task<BackupSummary> CreateAsync(string actor, string reason, CancellationToken ct = default);

    /// <summary>The finished backups in <see cref="Directory"/>, newest first.</summary>
    Task<IReadOnlyList<BackupSummary>> ListAsync(CancellationToken ct = default);

    /// <summary>Checks one backup's files against its manifest. Throws <see cref="NotFoundException"/> for an unknown name.</summary>
    Task<BackupVerification> VerifyAsync(string name, CancellationToken ct = default);
}

public sealed partial class BackupService(Db db, MetricsRuntime metrics, ServeOptions serve, ConfigHolder config, AuditLog audit, TimeProvider time,
    ILogger<BackupService> log) : IBackupService, IDisposable
{
    private readonly SemaphoreSlim _one = new(1, 1);

    public string Directory => Path.GetFullPath(Path.Combine(serve.DataDir, config.Current.Backups.Directory));

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")]
    private static partial Regex NameRule();

    public async Task<BackupSummary> CreateAsync(string actor, string reason, CancellationToken ct = default)
    {
        if (reason.Length > 500) throw new ValidationException("reason", "must be at most 500 characters");
        await _one.WaitAsync(ct);
        try
        {
            return await CreateLockedAsync(actor, reason.Trim(), ct);
        }
        finally
        {
            _one.Release();
        }
    }

    private async Task<BackupSummary> CreateLockedAsync(string actor, string reason, CancellationToken ct)
    {
        var root = Directory;
        BackupRestore.CreatePrivateDirectory(root);
        var at = time.GetUtcNow();
        var name = BackupFolder.NameFor(at);
        for (var i = 2; System.IO.Directory.Exists(Path.Combine(root, name)); i++) name = BackupFolder.NameFor(at) + "-" + i;
        var folder = Path.Combine(root, name);
        // Written under a .partial name and renamed when complete: a folder without the suffix is always a whole backup.
        var partial = folder + ".partial";
        if (System.IO.Directory.Exists(partial)) System.IO.Directory.Delete(partial, recursive: true);
        BackupRestore.CreatePrivateDirectory(partial);
        var started = time.GetTimestamp();
        try
        {
            BackupRestore.CreatePrivateDirectory(Path.Combine(partial, "database"));
            var database = db.Provider == DbProvider.Sqlite
                ? await SqliteAsync(Path.Combine(partial, "database", "watchkeeper.db"), ct)
                : await PostgresAsync(Path.Combine(partial, "database", "watchkeeper.pgdump"), ct);
            var snap = await Task.Run(() => metrics.Tsdb.Snapshot(Path.Combine(partial, "tsdb"), ct), ct);
            CopyDataFiles(Path.Combine(partial, "data"));
            var manifest = new BackupManifest(BackupManifest.CurrentFormat, name, at, actor, reason, database,
                new BackupTsdb("tsdb", snap.Blocks, snap.WalFiles, snap.HeadMaxT == long.MinValue ? null : DateTimeOffset.FromUnixTimeMilliseconds(snap.HeadMaxT)),
                BackupFolder.Describe(partial));
            BackupFolder.WriteManifest(partial, manifest);
            System.IO.Directory.Move(partial, folder);
            var summary = BackupSummary.From(folder, manifest);
            await db.WriteAsync((c, tx) => audit.AppendAsync(c, tx, actor, "backup.create", "backup", name, null,
                new { summary.Name, summary.Files, summary.Bytes, summary.DatabaseProvider, summary.ManifestSha256, summary.Reason }), ct);
            log.LogInformation("Backup {Name} taken in {Elapsed:F1} s: {Files} files, {Bytes} bytes ({Provider}, {Blocks} TSDB blocks) in {Folder}",
                name, time.GetElapsedTime(started).TotalSeconds, summary.Files, summary.Bytes, summary.DatabaseProvider, summary.TsdbBlocks, folder);
            return summary;
        }
        catch
        {
            if (System.IO.Directory.Exists(partial)) System.IO.Directory.Delete(partial, recursive: true);
            throw;
        }
    }

    /// <summary>SQLite's online backup API: a consistent copy while the server keeps writing.</summary>
    private async Task<BackupDatabase> SqliteAsync(string file, CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        var version = await SchemaVersionAsync(conn);
        var dest = new SqliteConnectionStringBuilder { DataSource = file, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = false }.ToString();
        await using (var target = new SqliteConnection(dest))
        {
            await target.OpenAsync(ct);
            ((SqliteConnection)conn).BackupDatabase(target);
            var check = await target.ExecuteScalarAsync<string>("PRAGMA quick_check");
            if (check != "ok") throw new BackupException("the SQLite copy failed its integrity check: " + check);
            // One self-contained file: the copy is switched out of WAL mode (the server switches it back on start).
            await target.ExecuteAsync("PRAGMA journal_mode=DELETE");
        }
        return new BackupDatabase("sqlite", "database/watchkeeper.db", version);
    }

    private async Task<BackupDatabase> PostgresAsync(string file, CancellationToken ct)
    {
        var version = await db.ReadAsync(SchemaVersionAsync, ct);
        var b = new NpgsqlConnectionStringBuilder(config.Current.Storage.Postgres!.ConnectionString);
        await PgTools.DumpAsync(Conninfo(b), b.Password ?? "", file, ct);
        return new BackupDatabase("postgres", "database/watchkeeper.pgdump", version);
    }

    /// <summary>An Npgsql connection string as libpq key=value pairs (what pg_dump takes); the password goes in PGPASSWORD.</summary>
    public static string Conninfo(NpgsqlConnectionStringBuilder b)
    {
        static string Q(string v) => "'" + v.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal) + "'";
        var parts = new List<string>();
        if (b.Host is { Length: > 0 } h) parts.Add("host=" + Q(h.Split(',')[0]));
        parts.Add("port=" + b.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (b.Database is { Length: > 0 } d) parts.Add("dbname=" + Q(d));
        if (b.Username is { Length: > 0 } u) parts.Add("user=" + Q(u));
        parts.Add("sslmode=" + (b.SslMode switch
        {
            SslMode.Disable => "disable",
            SslMode.Require => "require",
            SslMode.VerifyCA => "verify-ca",
            SslMode.VerifyFull => "verify-full",
            _ => "prefer",
        }));
        return string.Join(' ', parts);
    }

    private static async Task<int> SchemaVersionAsync(DbConnection c) => await c.ExecuteScalarAsync<int?>("SELECT MAX(version) FROM schema_migrations") ?? 0;

    private void CopyDataFiles(string target)
    {
        BackupRestore.CreatePrivateDirectory(target);
        foreach (var item in BackupFolder.DataFiles)
        {
            var from = Path.Combine(serve.DataDir, item);
            if (File.Exists(from))
            {
                File.Copy(from, Path.Combine(target, item));
            }
            else if (System.IO.Directory.Exists(from))
            {
                var to = Path.Combine(target, item);
                BackupRestore.CreatePrivateDirectory(to);
                foreach (var f in System.IO.Directory.GetFiles(from)) File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
            }
        }
    }

    public Task<IReadOnlyList<BackupSummary>> ListAsync(CancellationToken ct = default)
    {
        var root = Directory;
        var list = new List<BackupSummary>();
        if (System.IO.Directory.Exists(root))
        {
            foreach (var dir in System.IO.Directory.GetDirectories(root))
            {
                ct.ThrowIfCancellationRequested();
                if (dir.EndsWith(".partial", StringComparison.Ordinal) || !File.Exists(Path.Combine(dir, BackupManifest.FileName))) continue;
                try
                {
                    list.Add(BackupSummary.From(dir, BackupFolder.ReadManifest(dir)));
                }
                catch (BackupException ex)
                {
                    log.LogWarning("Backup folder {Folder} has an unreadable manifest: {Problem}", dir, ex.Message);
                }
            }
        }
        return Task.FromResult<IReadOnlyList<BackupSummary>>([.. list.OrderByDescending(b => b.CreatedAt).ThenByDescending(b => b.Name, StringComparer.Ordinal)]);
    }

    public async Task<BackupVerification> VerifyAsync(string name, CancellationToken ct = default)
    {
        if (!NameRule().IsMatch(name) || name.EndsWith(".partial", StringComparison.Ordinal)) throw new ValidationException("name", $"'{name}' is not a backup name");
        var folder = Path.Combine(Directory, name);
        if (!System.IO.Directory.Exists(folder)) throw new NotFoundException($"no backup named '{name}' in {Directory}");
        return await Task.Run(() => BackupFolder.Verify(folder, ct), ct);
    }

    public void Dispose() => _one.Dispose();
}
