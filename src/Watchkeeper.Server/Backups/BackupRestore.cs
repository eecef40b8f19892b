using System.Diagnostics;

// wk compiles this file too, into its own namespace (so a project referencing both assemblies sees two distinct types).
#if WK_CLI
namespace Watchkeeper.Cli.Backups;
#else
namespace Watchkeeper.Server.Backups;
#endif

// Compiled into both the server and `wk` (see BackupFormat.cs).

/// <summary>
/// What to restore where. <paramref name="Postgres"/> is a libpq connection string or URI (what <c>pg_restore -d</c>
/// takes), needed for a backup of a PostgreSQL deployment. <paramref name="Force"/> allows replacing what is there.
/// </summary>
public sealed record RestoreRequest(string Folder, string DataDir, bool Force, string? Postgres = null);

public sealed record RestoreResult(BackupManifest Manifest, IReadOnlyList<string> Restored, IReadOnlyList<string> Replaced);

/// <summary>
/// Restores a backup into a stopped data directory: verifies every checksum first, refuses while a server holds the
/// directory, refuses to replace existing data without <see cref="RestoreRequest.Force"/>, stages the files next to
/// their place and moves them in only when everything was copied (and, for PostgreSQL, once <c>pg_restore</c> succeeded).
/// </summary>
public static class BackupRestore
{
    public static async Task<RestoreResult> RunAsync(RestoreRequest r, CancellationToken ct = default)
    {
        var v = BackupFolder.Verify(r.Folder, ct);
        if (!v.Ok)
            throw new BackupException($"backup {r.Folder} failed verification: {v.Problems[0]}" + (v.Problems.Count > 1 ? $" (and {v.Problems.Count - 1} more problem(s))" : ""));
        var m = BackupFolder.ReadManifest(r.Folder);
        if (Directory.Exists(r.DataDir)) EnsureStopped(r.DataDir);
        var postgres = m.Database.Provider == "postgres";
        if (postgres && string.IsNullOrWhiteSpace(r.Postgres))
            throw new BackupException("this backup holds a PostgreSQL dump: give the database to restore it into with --postgres CONNINFO");
        if (!postgres && !string.IsNullOrWhiteSpace(r.Postgres))
            throw new BackupException("this backup holds a SQLite database, which is restored into the data directory: --postgres does not apply");

        if (!Directory.Exists(r.DataDir)) CreatePrivateDirectory(r.DataDir);
        var items = new List<string>(BackupFolder.DataFiles) { "tsdb" };
        if (!postgres) items.AddRange(BackupFolder.SqliteFiles);
        var existing = items.Where(i => File.Exists(Path.Combine(r.DataDir, i)) || Directory.Exists(Path.Combine(r.DataDir, i))).ToList();
        if (existing.Count > 0 && !r.Force)
            throw new BackupException($"{r.DataDir} already holds {string.Join(", ", existing)}; refusing to overwrite it without --force");
        if (postgres && !r.Force && await PgTools.HasWatchkeeperSchemaAsync(r.Postgres!, ct))
            throw new BackupException("the PostgreSQL database already holds a Watchkeeper schema; refusing to overwrite it without --force");

        var staging = Path.Combine(r.DataDir, ".restore-" + Guid.NewGuid().ToString("n")[..12]);
        CreatePrivateDirectory(staging);
        var restored = new List<string>();
        try
        {
            if (!postgres)
            {
                File.Copy(Path.Combine(r.Folder, m.Database.File), Path.Combine(staging, "watchkeeper.db"));
                restored.Add("watchkeeper.db");
            }
            CopyTree(Path.Combine(r.Folder, m.Tsdb.Directory), Path.Combine(staging, "tsdb"), ct);
            restored.Add("tsdb");
            foreach (var f in BackupFolder.DataFiles)
            {
                var from = Path.Combine(r.Folder, "data", f);
                if (File.Exists(from))
                {
                    File.Copy(from, Path.Combine(staging, f));
                    restored.Add(f);
                }
                else if (Directory.Exists(from))
                {
                    CopyTree(from, Path.Combine(staging, f), ct);
                    restored.Add(f);
                }
            }
            if (postgres)
            {
                await PgTools.RestoreAsync(r.Postgres!, Path.Combine(r.Folder, m.Database.File), clean: r.Force, ct);
                restored.Add("postgres database");
            }
            // Everything is staged (and PostgreSQL restored): replace what was there.
            foreach (var e in existing)
            {
                var p = Path.Combine(r.DataDir, e);
                if (Directory.Exists(p)) Directory.Delete(p, recursive: true);
                else File.Delete(p);
            }
            foreach (var entry in Directory.EnumerateFileSystemEntries(staging))
            {
                var dest = Path.Combine(r.DataDir, Path.GetFileName(entry));
                if (Directory.Exists(entry)) Directory.Move(entry, dest);
                else File.Move(entry, dest);
            }
        }
        finally
        {
            if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
        }
        return new RestoreResult(m, restored, existing);
    }

    /// <summary>Refuses while a running server holds the data directory (its TSDB lock file is locked exclusively).</summary>
    public static void EnsureStopped(string dataDir)
    {
        var lockFile = Path.Combine(dataDir, "tsdb", "lock");
        if (!File.Exists(lockFile)) return;
        try
        {
            using var fs = new FileStream(lockFile, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException ex)
        {
            throw new BackupException($"{dataDir} is in use by a running watchkeeper; stop it before restoring", ex);
        }
    }

    private static void CopyTree(string from, string to, CancellationToken ct)
    {
        CreatePrivateDirectory(to);
        foreach (var dir in Directory.EnumerateDirectories(from, "*", SearchOption.AllDirectories))
            CreatePrivateDirectory(Path.Combine(to, Path.GetRelativePath(from, dir)));
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            ct.ThrowIfCancellationRequested();
            File.Copy(file, Path.Combine(to, Path.GetRelativePath(from, file)));
        }
    }

    /// <summary>Creates a directory readable by this user only (the data directory holds secrets).</summary>
    public static void CreatePrivateDirectory(string path)
    {
        if (OperatingSystem.IsWindows()) Directory.CreateDirectory(path);
        else Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }
}

/// <summary>PostgreSQL's client programs (Debian's postgresql-client): <c>pg_dump</c>, <c>pg_restore</c>, <c>psql</c>.</summary>
public static class PgTools
{
    /// <summary>Where the programs are looked up: WATCHKEEPER_PG_BIN if set, else PATH.</summary>
    public static string Program(string name) =>
        Environment.GetEnvironmentVariable("WATCHKEEPER_PG_BIN") is { Length: > 0 } dir ? Path.Combine(dir, name) : name;

    public static async Task DumpAsync(string conninfo, string password, string file, CancellationToken ct)
    {
        var (code, err) = await RunAsync("pg_dump", ["--format=custom", "--no-owner", "--no-privileges", "--file=" + file, "--dbname=" + conninfo], password, ct);
        if (code != 0) throw new BackupException("pg_dump failed: " + OneLine(err));
    }

    public static async Task RestoreAsync(string conninfo, string file, bool clean, CancellationToken ct)
    {
        List<string> args = ["--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction", "--dbname=" + conninfo];
        if (clean) args.AddRange(["--clean", "--if-exists"]);
        args.Add(file);
        var (code, err) = await RunAsync("pg_restore", args, null, ct);
        if (code != 0) throw new BackupException("pg_restore failed: " + OneLine(err));
    }

    public static async Task<bool> HasWatchkeeperSchemaAsync(string conninfo, CancellationToken ct)
    {
        var (code, output) = await RunAsync("psql", ["--no-psqlrc", "-tAX", "--dbname=" + conninfo, "-c", "SELECT to_regclass('schema_migrations') IS NOT NULL"], null, ct, stdout: true);
        if (code != 0) throw new BackupException("psql could not read the target database: " + OneLine(output));
        return output.Trim() == "t";
    }

    private static async Task<(int Code, string Output)> RunAsync(string program, IEnumerable<string> args, string? password, CancellationToken ct, bool stdout = false)
    {
        var psi = new ProcessStartInfo(Program(program)) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (password is { Length: > 0 }) psi.Environment["PGPASSWORD"] = password;
        Process p;
        try
        {
            p = Process.Start(psi) ?? throw new BackupException($"{program} did not start");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new BackupException($"{program} is not installed (Debian: apt-get install postgresql-client; or set WATCHKEEPER_PG_BIN)", ex);
        }
        using (p)
        {
            var outTask = p.StandardOutput.ReadToEndAsync(ct);
            var errTask = p.StandardError.ReadToEndAsync(ct);
            try
            {
                await p.WaitForExitAsync(ct);
            }
            catch (OperationCanceledException)
            {
                p.Kill(entireProcessTree: true);
                throw;
            }
            var o = await outTask;
            var e = await errTask;
            return (p.ExitCode, stdout && p.ExitCode == 0 ? o : e.Length > 0 ? e : o);
        }
    }

    public static string OneLine(string s)
    {
        var line = s.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? "(no output)";
        return line.Length > 300 ? line[..300] + "..." : line;
    }
}
