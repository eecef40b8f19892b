using System.CommandLine;
using System.Globalization;

namespace Watchkeeper.Cli;

/// <summary><c>wk audit verify|list|checkpoint</c>: the tamper-evident audit log.</summary>
public static class AuditCommands
{
    public static Command Build(WkConsole io, Globals g)
    {
        var cmd = new Command("audit", "The append-only, hash-chained audit log (admin)");

        var expect = new Option<string?>("--expect")
        {
            Description = "Also require this head, as published in the server log and metrics (SEQ:HASH, at least 8 hex digits of the hash)",
            HelpName = "SEQ:HASH",
        };
        var verify = new Command("verify", "Check the audit log's keyed hash chain and signed checkpoints; exit 0 when intact, 5 when tampered with") { expect };
        verify.Run(io, g, async (ctx, ct) =>
        {
            var e = ctx.Get(expect);
            if (e is not null && !ValidExpect(e))
                throw WkException.Usage($"--expect: '{CliConfigFile.OneLine(e)}' is not SEQ:HASH (a sequence number and at least 8 hex digits of its hash)");
            var r = await ctx.Api().GetAsync("api/v1/audit/verify" + new Query().Add("expect", e), ct);
            var v = r.As<AuditVerificationDto>();
            if (ctx.Json)
            {
                ctx.PrintJson(r);
            }
            else if (v.Ok)
            {
                ctx.Line($"Audit log intact: {v.Records} record(s) up to #{v.LastSeq}; {v.Checkpoints} signed checkpoint(s)"
                    + (v.Checkpoints > 0 ? $", the last at #{v.LastCheckpointSeq}." : ".")
                    + (v.HeadHash is { Length: >= 16 } h ? $" Head {v.LastSeq}:{h[..16]}." : "")
                    + (e is not null ? $" Contains the expected head {e}." : ""));
            }
            else
            {
                ctx.Line($"Audit log NOT intact: {v.Problems.Count} problem(s) in {v.Records} record(s) up to #{v.LastSeq}; {v.Checkpoints} signed checkpoint(s).");
                foreach (var p in v.Problems) ctx.Line("  - " + p);
            }
            if (v.Ok) return ExitCodes.Ok;
            var missing = v.Problems.FirstOrDefault(p => p.StartsWith("expected head", StringComparison.Ordinal));
            await io.Error.WriteLineAsync(missing is not null
                ? $"wk: audit log does not contain the expected head: {CliConfigFile.OneLine(missing)}"
                : $"wk: audit log verification failed: {v.Problems.Count} problem(s); first: {CliConfigFile.OneLine(v.Problems.FirstOrDefault() ?? "unknown")}");
            return ExitCodes.CheckFailed;
        });

        var after = new Option<long>("--after") { Description = "Records after this sequence number", HelpName = "SEQ" };
        var limit = new Option<int>("--limit", "-n") { Description = "At most this many (1-1000)", DefaultValueFactory = _ => 100, HelpName = "N" };
        var list = new Command("list", "List audit records in order") { after, limit };
        list.Aliases.Add("ls");
        list.Run(io, g, async (ctx, ct) =>
        {
            var q = new Query().Add("after", ctx.Get(after).ToString(CultureInfo.InvariantCulture)).Add("limit", ctx.Get(limit).ToString(CultureInfo.InvariantCulture));
            var r = await ctx.Api().GetAsync("api/v1/audit" + q, ct);
            return ctx.Print(r, () =>
            {
                var t = Fmt.Table("SEQ", "TIME", "ACTOR", "ACTION", "ENTITY");
                foreach (var a in r.As<List<AuditRecordDto>>())
                {
                    t.Row(a.Seq.ToString(CultureInfo.InvariantCulture), Fmt.Time(DateTimeOffset.FromUnixTimeMilliseconds(a.Ts)), a.Actor, a.Action,
                        $"{a.EntityType} {a.EntityId}");
                }
                ctx.Write(t);
            });
        });

        var checkpoint = new Command("checkpoint", "Sign a checkpoint of the chain now (the server also does this periodically)");
        checkpoint.Run(io, g, async (ctx, ct) =>
        {
            var r = await ctx.Api().PostAsync("api/v1/audit/checkpoint", null, ct);
            return ctx.Print(r, () => ctx.Line(r.Json.ValueKind == System.Text.Json.JsonValueKind.Object && r.Json.TryGetProperty("seq", out var s)
                ? $"Signed checkpoint at record #{s}."
                : "Nothing to checkpoint: the audit log is empty."));
        });

        cmd.Subcommands.Add(verify);
        cmd.Subcommands.Add(list);
        cmd.Subcommands.Add(checkpoint);
        return cmd;
    }

    private static bool ValidExpect(string s)
    {
        var i = s.IndexOf(':', StringComparison.Ordinal);
        if (i <= 0 || !long.TryParse(s.AsSpan(0, i), NumberStyles.None, CultureInfo.InvariantCulture, out var seq) || seq < 1) return false;
        var h = s[(i + 1)..].Trim();
        return h.Length is >= 8 and <= 64 && h.All(char.IsAsciiHexDigit);
    }
}
