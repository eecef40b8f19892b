using System.CommandLine;
using Spectre.Console;

namespace Watchkeeper.Cli;

/// <summary><c>wk login</c>, <c>wk logout</c>, <c>wk whoami</c>.</summary>
public static class LoginCommands
{
    public static IEnumerable<Command> Build(WkConsole io, Globals g)
    {
        yield return Login(io, g);
        yield return Logout(io, g);
        yield return WhoAmI(io, g);
    }

    private static Command Login(WkConsole io, Globals g)
    {
        var username = new Option<string?>("--username", "-u") { Description = "User to log in as", HelpName = "NAME" };
        var password = new Option<string?>("--password", "-p")
        {
            Description = "Password [default: first line of stdin, else a prompt]; on the command line it is visible in the process list",
            HelpName = "PASSWORD",
        };
        var tokenName = new Option<string?>("--token-name") { Description = "Name of the API token to create [default: wk login on HOST]", HelpName = "NAME" };
        var cmd = new Command("login",
            "Log in and save the server URL and a new API token to the config file (mode 0600); with --token instead of --username, check and save that token")
        {
            username, password, tokenName,
        };
        cmd.Run(io, g, async (ctx, ct) =>
        {
            var url = ctx.Url;
            var user = ctx.Get(username);
            string token;
            long? tokenId = null;
            ApiResponse shown;
            if (user is null)
            {
                var given = ctx.Parse.GetValue(g.Token) ?? io.Env("WATCHKEEPER_TOKEN")
                    ?? throw WkException.Usage("--username is required (or pass --token to save an existing token)");
                var who = await ctx.ApiFor(url, given).GetAsync("api/v1/auth/whoami", ct);
                token = given;
                user = who.As<WhoAmIDto>().Username;
                shown = who;
            }
            else
            {
                var secret = ctx.ReadSecret(ctx.Get(password), $"Password for {user}@{url.Authority}: ", "--password");
                var name = ctx.Get(tokenName) ?? $"wk login on {Environment.MachineName}";
                var r = await ctx.ApiFor(url, null).PostAsync("api/v1/auth/login", new { username = user, password = secret, token_name = name }, ct);
                var t = r.As<NewTokenDto>();
                token = t.Token;
                tokenId = t.Id;
                user = t.Username;
                // The token is in the config file now; it is not echoed (terminal scrollback, CI logs).
                var copy = System.Text.Json.Nodes.JsonNode.Parse(r.Raw)!.AsObject();
                copy.Remove("token");
                shown = new ApiResponse(copy.ToJsonString(), System.Text.Json.JsonDocument.Parse(copy.ToJsonString()).RootElement.Clone());
            }
            var path = ctx.ConfigPath;
            CliConfigFile.Save(path, new CliConfig(url.ToString().TrimEnd('/'), token, user, tokenId));
            return ctx.Print(shown, () =>
            {
                var role = shown.Json.TryGetProperty("role", out var rl) ? rl.GetString() : null;
                ctx.Line($"Logged in to {url.ToString().TrimEnd('/')} as {user}{(role is null ? "" : $" ({role})")}; token saved to {path}");
            });
        });
        return cmd;
    }

    private static Command Logout(WkConsole io, Globals g)
    {
        var keep = new Option<bool>("--keep-token") { Description = "Only forget the token locally; do not revoke it on the server" };
        var cmd = new Command("logout", "Revoke the saved API token on the server and remove it from the config file") { keep };
        cmd.Run(io, g, async (ctx, ct) =>
        {
            var path = ctx.ConfigPath;
            var cfg = ctx.Config;
            if (cfg?.Token is null)
            {
                ctx.Line("Not logged in.");
                return ExitCodes.Ok;
            }
            if (!ctx.Get(keep) && cfg.TokenId is { } id && cfg.Url is not null)
            {
                try
                {
                    await ctx.ApiFor(Ctx.ParseUrl(cfg.Url), cfg.Token).DeleteAsync($"api/v1/tokens/{id}", ct);
                }
                catch (WkException ex) when (ex.ExitCode == ExitCodes.Auth)
                {
                    // Already revoked or expired: forgetting it locally is all that is left to do.
                }
            }
            CliConfigFile.Save(path, cfg with { Token = null, TokenId = null });
            ctx.Line($"Logged out of {cfg.Url}.");
            return ExitCodes.Ok;
        });
        return cmd;
    }

    private static Command WhoAmI(WkConsole io, Globals g)
    {
        var cmd = new Command("whoami", "Show the user and role the current token acts as");
        cmd.Run(io, g, async (ctx, ct) =>
        {
            var r = await ctx.Api().GetAsync("api/v1/auth/whoami", ct);
            return ctx.Print(r, () =>
            {
                var w = r.As<WhoAmIDto>();
                ctx.Write(Fmt.Pairs([
                    ("User", Fmt.Text(w.Username)),
                    ("Role", Fmt.Text(w.Role)),
                    ("Server", Fmt.Text(ctx.Url.ToString().TrimEnd('/'))),
                ]));
            });
        });
        return cmd;
    }
}
