using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

// wk compiles this file too, into its own namespace (so a project referencing both assemblies sees two distinct types).
#if WK_CLI
namespace Watchkeeper.Cli.Backups;
#else
namespace Watchkeeper.Server.Backups;
#endif

// This file is compiled into both the server and `wk` (linked from Watchkeeper.Cli.csproj): one manifest format, one
// verifier, one restore. It uses nothing but the base library.

/// <summary>One file of a backup: its path inside the backup folder ('/' separated), size and SHA-256 (lower-case hex).</summary>
public sealed record BackupFile(string Path, long Bytes, string Sha256);

/// <summary>The database part of a backup: SQLite's online backup copy, or a <c>pg_dump</c> custom-format archive.</summary>
public sealed record BackupDatabase(string Provider, string File, int SchemaVersion);

/// <summary>The TSDB snapshot: blocks copied and WAL files that replay into the head on the next start.</summary>
public sealed record BackupTsdb(string Directory, int Blocks, int WalFiles, DateTimeOffset? NewestSample);

/// <summary><c>manifest.json</c> at the top of every backup folder.</summary>
public sealed record BackupManifest(
    string Format, string Name, DateTimeOffset CreatedAt, string CreatedBy, string Reason,
    BackupDatabase Database, BackupTsdb Tsdb, IReadOnlyList<BackupFile> Files)
{
    public const string CurrentFormat = "watchkeeper-backup/1";
    public const string FileName = "manifest.json";
    /// <summary>The same checksums in <c>sha256sum</c>'s format, so <c>sha256sum -c SHA256SUMS</c> checks a backup without wk.</summary>
    public const string SumsFileName = "SHA256SUMS";

    public long TotalBytes => Files.Sum(f => f.Bytes);

    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };
}

/// <summary>A problem <see cref="BackupFolder.Verify"/> found: the file (relative to the backup folder) and what is wrong.</summary>
public sealed record BackupProblem(string File, string Problem)
{
    public override string ToString() => $"{File}: {Problem}";
}

public sealed record BackupVerification(string Folder, string Name, int Files, long Bytes, IReadOnlyList<BackupProblem> Problems)
{
    public bool Ok => Problems.Count == 0;
}

/// <summary>Thrown for a backup that cannot be read or restored; the message is one line for the operator.</summary>
public sealed class BackupException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Reads, writes and checks the files of one backup folder.</summary>
public static class BackupFolder
{
    /// <summary>What a data directory holds that a backup carries (besides the database and the TSDB).</summary>
    public static readonly IReadOnlyList<string> DataFiles = ["audit.key", "keys"];

    /// <summary>SQLite's files in the data directory (the database and its WAL and shared-memory files).</summary>
    public static readonly IReadOnlyList<string> SqliteFiles = ["watchkeeper.db", "watchkeeper.db-wal", "watchkeeper.db-shm"];

    public static string Sha256(string path)
    {
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        return Convert.ToHexStringLower(SHA256.HashData(fs));
    }

    /// <summary>Every file under <paramref name="folder"/> except the manifest files, as manifest entries (sorted by path).</summary>
    public static List<BackupFile> Describe(string folder)
    {
        var files = new List<BackupFile>();
        foreach (var full in Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories))
        {
            var rel = Relative(folder, full);
            if (rel is BackupManifest.FileName or BackupManifest.SumsFileName) continue;
            files.Add(new BackupFile(rel, new FileInfo(full).Length, Sha256(full)));
        }
        files.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        return files;
    }

    /// <summary>Writes <c>manifest.json</c> and <c>SHA256SUMS</c> (each to a temporary name, fsynced, then renamed).</summary>
    public static void WriteManifest(string folder, BackupManifest manifest)
    {
        WriteDurably(Path.Combine(folder, BackupManifest.FileName), JsonSerializer.Serialize(manifest, BackupManifest.Json) + "\n");
        var sums = new StringBuilder();
        foreach (var f in manifest.Files) sums.Append(f.Sha256).Append("  ").Append(f.Path).Append('\n');
        WriteDurably(Path.Combine(folder, BackupManifest.SumsFileName), sums.ToString());
    }

    public static BackupManifest ReadManifest(string folder)
    {
        var path = Path.Combine(folder, BackupManifest.FileName);
        if (!Directory.Exists(folder)) throw new BackupException($"{folder}: no such backup folder");
        if (!File.Exists(path)) throw new BackupException($"{folder}: {BackupManifest.FileName} is missing (not a Watchkeeper backup, or an unfinished one)");
        BackupManifest? m;
        try
        {
            m = JsonSerializer.Deserialize<BackupManifest>(File.ReadAllText(path), BackupManifest.Json);
        }
        catch (JsonException ex)
        {
            throw new BackupException($"{BackupManifest.FileName}: not a valid manifest ({ex.Message})", ex);
        }
        if (m is null || m.Files is null || m.Database is null || m.Tsdb is null) throw new BackupException($"{BackupManifest.FileName}: incomplete manifest");
        if (m.Format != BackupManifest.CurrentFormat) throw new BackupException($"{BackupManifest.FileName}: format '{m.Format}' is not {BackupManifest.CurrentFormat}");
        return m;
    }

    /// <summary>
    /// Checks every file the manifest lists (present, same size, same SHA-256) and that no file was added; each problem
    /// names its file. A missing or unreadable manifest is one problem naming <c>manifest.json</c>.
    /// </summary>
    public static BackupVerification Verify(string folder, CancellationToken ct = default)
    {
        BackupManifest m;
        try
        {
            m = ReadManifest(folder);
        }
        catch (BackupException ex)
        {
            return new BackupVerification(folder, Path.GetFileName(Path.TrimEndingDirectorySeparator(folder)), 0, 0, [new(BackupManifest.FileName, ex.Message)]);
        }
        var problems = new List<BackupProblem>();
        var listed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var f in m.Files)
        {
            ct.ThrowIfCancellationRequested();
            listed.Add(f.Path);
            if (!SafeRelative(f.Path))
            {
                problems.Add(new(f.Path, "path leaves the backup folder"));
                continue;
            }
            var full = Path.Combine(folder, f.Path);
            if (!File.Exists(full))
            {
                problems.Add(new(f.Path, "missing"));
                continue;
            }
            var size = new FileInfo(full).Length;
            if (size != f.Bytes)
            {
                problems.Add(new(f.Path, $"size is {size} bytes, the manifest says {f.Bytes}"));
                continue;
            }
            if (!string.Equals(Sha256(full), f.Sha256, StringComparison.OrdinalIgnoreCase)) problems.Add(new(f.Path, "SHA-256 does not match the manifest (corrupted)"));
        }
        foreach (var full in Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories))
        {
            var rel = Relative(folder, full);
            if (rel is BackupManifest.FileName or BackupManifest.SumsFileName || listed.Contains(rel)) continue;
            problems.Add(new(rel, "not in the manifest (added after the backup was taken)"));
        }
        return new BackupVerification(folder, m.Name, m.Files.Count, m.TotalBytes, problems);
    }

    public static string Relative(string folder, string full) => Path.GetRelativePath(folder, full).Replace('\\', '/');

    private static bool SafeRelative(string p) =>
        p.Length > 0 && !Path.IsPathRooted(p) && !p.Split('/').Any(s => s is ".." or "." or "");

    private static void WriteDurably(string path, string text)
    {
        var tmp = path + ".tmp";
        using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            fs.Write(Encoding.UTF8.GetBytes(text));
            fs.Flush(true);
        }
        File.Move(tmp, path, overwrite: true);
    }

    /// <summary>The folder name of a backup taken at <paramref name="at"/>: <c>watchkeeper-20261207T030000Z</c>.</summary>
    public static string NameFor(DateTimeOffset at) => "watchkeeper-" + at.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
}
