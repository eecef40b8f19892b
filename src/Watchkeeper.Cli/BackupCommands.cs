using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Watchkeeper.Cli.Backups;

namespace Watchkeeper.Cli;

/// <summary>
/// <c>wk backup create|list|verify|restore</c>: backups of Watchkeeper's own data. create and list ask the server (admin);
/// verify checks a backup folder on this machine (or, given a name, on the server); restore works on a stopped data
/// directory on this machine (docs/backups.md).
/// </summary>
public static class BackupCommands
{
    public static Command Build(WkConsole io, Globals g)
    {
        var cmd = new Command("backup", "Backups of Watchkeeper's own data: database, time series, keys (admin)");

        var reason = new Option<string?>("--reason") { Description = "Why the backup is taken (recorded in its manifest)", HelpName = "TEXT" };
        var create = new Command("create", "Take a backup now on the server; prints its folder") { reason };
        create.Run(io, g, async (ctx, ct) =>
        {
            var r = await ctx.Api().PostAsync("api/v1/backups", new { reason = ctx.Get(reason) ?? "" }, ct);
            return ctx.Print(r, () =>
            {
                var b = r.As<BackupSummaryDto>();
                ctx.Line($"Backup {b.Name} taken: {b.Files} file(s), {Bytes(b.Bytes)} ({b.DatabaseProvider} schema {b.SchemaVersion}, {b.TsdbBlocks} TSDB block(s)).");
                ctx.Line($"Folder: {b.Folder}");
                ctx.Line($"Manifest SHA-256: {b.ManifestSha256}");
            });
        });

        var list = new Command("list", "List the backups in the server's backup folder, newest first");
        list.Aliases.Add("ls");
        list.Run(io, g, async (ctx, ct) =>
        {
            var r = await ctx.Api().GetAsync("api/v1/backups", ct);
            return ctx.Print(r, () =>
            {
                var t = Fmt.Table("NAME", "TAKEN", "BY", "DATABASE", "FILES", "SIZE", "REASON");
                foreach (var b in r.As<List<BackupSummaryDto>>())
                    t.Row(b.Name, Fmt.Time(b.CreatedAt), b.CreatedBy, b.DatabaseProvider, b.Files.ToString(CultureInfo.InvariantCulture), Bytes(b.Bytes), b.Reason);
                ctx.Write(t);
            });
        });

        var target = new Argument<string>("backup") { Description = "A backup folder on this machine, or the name of a backup on the server" };
        var verify = new Command("verify", "Check every file of a backup against its SHA-256 manifest; exit 0 when intact, 5 naming each bad or missing file") { target };
        verify.Run(io, g, async (ctx, ct) =>
        {
            var t = ctx.Get(target);
            BackupVerification v;
            if (Directory.Exists(t))
            {
                v = BackupFolder.Verify(t, ct);
                if (ctx.Json) ctx.PrintJson(JsonSerializer.SerializeToElement(v, BackupManifest.Json));
            }
            else
            {
                if (t.Contains('/', StringComparison.Ordinal) || t.Contains('\\', StringComparison.Ordinal))
                    throw new WkException(ExitCodes.ServerError, $"{t}: no such backup folder");
                var r = await ctx.Api().GetAsync("api/v1/backups/" + Uri.EscapeDataString(t) + "/verify", ct);
                if (ctx.Json) ctx.PrintJson(r);
                var dto = r.As<BackupVerificationDto>();
                v = new BackupVerification(dto.Folder, dto.Name, dto.Files, dto.Bytes, [.. dto.Problems.Select(p => new BackupProblem(p.File, p.Problem))]);
            }
            if (!ctx.Json)
            {
                if (v.Ok) ctx.Line($"Backup {v.Name} intact: {v.Files} file(s), {Bytes(v.Bytes)}, every SHA-256 matches its manifest.");
                else
                {
                    ctx.Line($"Backup {v.Name} NOT intact: {v.Problems.Count} problem(s).");
                    foreach (var p in v.Problems) ctx.Line("  - " + p);
                }
            }
            if (v.Ok) return ExitCodes.Ok;
            await io.Error.WriteLineAsync($"wk: backup {v.Name} failed verification: {CliConfigFile.OneLine(v.Problems[0].ToString())}"
                + (v.Problems.Count > 1 ? $" (and {v.Problems.Count - 1} more)" : ""));
            return ExitCodes.CheckFailed;
        });

        var folder = new Argument<string>("folder") { Description = "The backup folder to restore (on this machine)" };
        var data = new Option<string>("--data") { Description = "The data directory of the stopped server to restore into", DefaultValueFactory = _ => "./data", HelpName = "DIR" };
        var force = new Option<bool>("--force") { Description = "Replace the data (and PostgreSQL schema) already there" };
        var postgres = new Option<string?>("--postgres")
        {
            Description = "For a backup of a PostgreSQL deployment: the database to restore into (libpq connection string or URI, as pg_restore -d takes)",
            HelpName = "CONNINFO",
        };
        var restore = new Command("restore", "Restore a backup into a stopped server's data directory (verifies it first; refuses to overwrite without --force)")
        {
            folder, data, force, postgres,
        };
        restore.Run(io, g, async (ctx, ct) =>
        {
            RestoreResult res;
            try
            {
                res = await BackupRestore.RunAsync(new RestoreRequest(ctx.Get(folder), ctx.Get(data)!, ctx.Get(force), ctx.Get(postgres)), ct);
            }
            catch (BackupException ex)
            {
                throw new WkException(ex.Message.Contains("failed verification", StringComparison.Ordinal) ? ExitCodes.CheckFailed : ExitCodes.ServerError, ex.Message);
            }
            if (ctx.Json)
            {
                ctx.PrintJson(JsonSerializer.SerializeToElement(new { name = res.Manifest.Name, data_dir = Path.GetFullPath(ctx.Get(data)!), restored = res.Restored, replaced = res.Replaced }, BackupManifest.Json));
            }
            else
            {
                ctx.Line($"Restored backup {res.Manifest.Name} (taken {Fmt.Time(res.Manifest.CreatedAt)}) into {Path.GetFullPath(ctx.Get(data)!)}: {string.Join(", ", res.Restored)}.");
                if (res.Replaced.Count > 0) ctx.Line($"Replaced: {string.Join(", ", res.Replaced)}.");
                ctx.Line("Start the server on this data directory; it migrates the schema forward if the backup is older.");
            }
            return ExitCodes.Ok;
        });

        cmd.Subcommands.Add(create);
        cmd.Subcommands.Add(list);
        cmd.Subcommands.Add(verify);
        cmd.Subcommands.Add(restore);
        return cmd;
    }

    private static string Bytes(long n) => n switch
    {
        < 1024 => $"{n} B",
        < 1024 * 1024 => (n / 1024.0).ToString("F1", CultureInfo.InvariantCulture) + " KiB",
        < 1024L * 1024 * 1024 => (n / 1024.0 / 1024).ToString("F1", CultureInfo.InvariantCulture) + " MiB",
        _ => (n / 1024.0 / 1024 / 1024).ToString("F2", CultureInfo.InvariantCulture) + " GiB",
    };
}

public sealed record BackupSummaryDto(string Name, string Folder, DateTimeOffset CreatedAt, string CreatedBy, string Reason, string DatabaseProvider, int SchemaVersion,
    int Files, long Bytes, int TsdbBlocks, int TsdbWalFiles, string ManifestSha256);

public sealed record BackupProblemDto(string File, string Problem);

public sealed record BackupVerificationDto(string Folder, string Name, int Files, long Bytes, List<BackupProblemDto> Problems, bool Ok);
