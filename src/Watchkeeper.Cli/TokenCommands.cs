using System.CommandLine;
using System.Globalization;

namespace Watchkeeper.Cli;

/// <summary><c>wk token create|list|revoke</c>: API tokens for scripts and integrations.</summary>
public static class TokenCommands
{
    private const string Base = "api/v1/tokens";

    public static Command Build(WkConsole io, Globals g)
    {
        var cmd = new Command("token", "Manage API tokens (your own; admins can list and revoke everyone's)");
        cmd.Aliases.Add("tokens");

        var name = new Argument<string>("name") { Description = "What the token is for, e.g. ci-deploy", HelpName = "NAME" };
        var expires = new Option<string?>("--expires")
        {
            Description = "Lifetime, a duration such as 12h, 30d or 1y (at most 10 years) [default: until revoked]",
            HelpName = "DURATION",
        };
        var create = new Command("create", "Create an API token for the current user; it is printed once") { name, expires };
        create.Run(io, g, async (ctx, ct) =>
        {
            // The server parses the duration (one grammar for config, API and CLI) and answers a bad one with a problem.
            var r = await ctx.Api().PostAsync(Base, new { name = ctx.Get(name), expires_in = ctx.Get(expires) }, ct);
            return ctx.Print(r, () =>
            {
                var t = r.As<NewTokenDto>();
                var until = t.ExpiresAt is { } x ? $", expires {Fmt.Time(x)}" : "";
                ctx.Line($"Created token {t.Id} '{t.Name}' for {t.Username} ({t.Role}){until}. It is shown only now:");
                ctx.Line(t.Token);
            });
        });

        var all = new Option<bool>("--all") { Description = "Every user's tokens (admin)" };
        var list = new Command("list", "List API tokens") { all };
        list.Aliases.Add("ls");
        list.Run(io, g, async (ctx, ct) =>
        {
            var r = await ctx.Api().GetAsync(Base + (ctx.Get(all) ? "?all=true" : ""), ct);
            return ctx.Print(r, () =>
            {
                var t = Fmt.Table("ID", "NAME", "PREFIX", "USER", "CREATED", "LAST USED", "EXPIRES", "STATE");
                foreach (var k in r.As<List<TokenDto>>())
                {
                    var state = k.RevokedAt is { } rv ? "revoked " + Fmt.Time(rv) : k.ExpiresAt <= ctx.Now ? "expired" : "active";
                    t.Row(k.Id.ToString(CultureInfo.InvariantCulture), k.Name, k.Prefix, k.Username, Fmt.Time(k.CreatedAt),
                        k.LastUsedAt is { } u ? Fmt.Relative(u, ctx.Now) : "never", k.ExpiresAt is { } x ? Fmt.Time(x) : "never", state);
                }
                ctx.Write(t);
            });
        });

        var id = IncidentCommands.IdArgument("token-id", "Token id (the ID column of 'wk token list')");
        var revoke = new Command("revoke", "Revoke an API token") { id };
        revoke.Aliases.Add("delete");
        revoke.Run(io, g, async (ctx, ct) =>
        {
            var n = ctx.Get(id);
            await ctx.Api().DeleteAsync($"{Base}/{n}", ct);
            if (ctx.Json) ctx.Line($$"""{"id": {{n}}, "revoked": true}""");
            else ctx.Line($"Revoked token {n}.");
            return ExitCodes.Ok;
        });

        cmd.Subcommands.Add(create);
        cmd.Subcommands.Add(list);
        cmd.Subcommands.Add(revoke);
        return cmd;
    }
}
