using System.CommandLine;
using System.Globalization;

namespace Watchkeeper.Cli;

/// <summary><c>wk user add|list|role|disable|enable|passwd</c> (admin).</summary>
public static class UserCommands
{
    private const string Base = "api/v1/users";

    public static Command Build(WkConsole io, Globals g)
    {
        var cmd = new Command("user", "Manage users (admin): roles are viewer, responder and admin");
        cmd.Aliases.Add("users");
        cmd.Subcommands.Add(Add(io, g));
        cmd.Subcommands.Add(List(io, g));
        cmd.Subcommands.Add(Role(io, g));
        cmd.Subcommands.Add(SetDisabled(io, g, "disable", true));
        cmd.Subcommands.Add(SetDisabled(io, g, "enable", false));
        cmd.Subcommands.Add(Passwd(io, g));
        return cmd;
    }

    private static Argument<string> UserArg() => new("username") { Description = "User name", HelpName = "USERNAME" };

    private static Option<string?> PasswordOption(string description) => new("--password", "-p") { Description = description, HelpName = "PASSWORD" };

    private static Command Add(WkConsole io, Globals g)
    {
        var user = UserArg();
        var role = new Option<string>("--role", "-r") { Description = "viewer, responder or admin", Required = true, HelpName = "ROLE" };
        var password = PasswordOption("Initial password, at least 8 characters [default: first line of stdin, else a prompt]");
        var cmd = new Command("add", "Create a user") { user, role, password };
        cmd.Aliases.Add("create");
        cmd.Run(io, g, async (ctx, ct) =>
        {
            var name = ctx.Get(user);
            var secret = ctx.ReadSecret(ctx.Get(password), $"Password for new user {name}: ", "--password");
            var r = await ctx.Api().PostAsync(Base, new { username = name, password = secret, role = ctx.Get(role) }, ct);
            return ctx.Print(r, () =>
            {
                var u = r.As<UserDto>();
                ctx.Line($"Created user {u.Username} ({u.Role}).");
            });
        });
        return cmd;
    }

    private static Command List(WkConsole io, Globals g)
    {
        var cmd = new Command("list", "List users");
        cmd.Aliases.Add("ls");
        cmd.Run(io, g, async (ctx, ct) =>
        {
            var r = await ctx.Api().GetAsync(Base, ct);
            return ctx.Print(r, () =>
            {
                var t = Fmt.Table("ID", "USERNAME", "ROLE", "STATE", "CREATED");
                foreach (var u in r.As<List<UserDto>>())
                    t.Row(u.Id.ToString(CultureInfo.InvariantCulture), u.Username, u.Role, u.Disabled ? "disabled" : "active", Fmt.Time(u.CreatedAt));
                ctx.Write(t);
            });
        });
        return cmd;
    }

    private static Command Role(WkConsole io, Globals g)
    {
        var user = UserArg();
        var role = new Argument<string>("role") { Description = "viewer, responder or admin", HelpName = "ROLE" };
        var cmd = new Command("role", "Change a user's role") { user, role };
        cmd.Run(io, g, async (ctx, ct) =>
        {
            var r = await ctx.Api().PatchAsync($"{Base}/{Uri.EscapeDataString(ctx.Get(user))}", new { role = ctx.Get(role) }, ct);
            return ctx.Print(r, () =>
            {
                var u = r.As<UserDto>();
                ctx.Line($"{u.Username} is now {u.Role}.");
            });
        });
        return cmd;
    }

    private static Command SetDisabled(WkConsole io, Globals g, string name, bool disabled)
    {
        var user = UserArg();
        var cmd = new Command(name, disabled ? "Disable a user: their logins and API tokens stop working" : "Enable a disabled user") { user };
        cmd.Run(io, g, async (ctx, ct) =>
        {
            var r = await ctx.Api().PatchAsync($"{Base}/{Uri.EscapeDataString(ctx.Get(user))}", new { disabled }, ct);
            return ctx.Print(r, () =>
            {
                var u = r.As<UserDto>();
                ctx.Line($"{u.Username} is now {(u.Disabled ? "disabled" : "enabled")}.");
            });
        });
        return cmd;
    }

    private static Command Passwd(WkConsole io, Globals g)
    {
        var user = UserArg();
        var password = PasswordOption("New password, at least 8 characters [default: first line of stdin, else a prompt]");
        var cmd = new Command("passwd", "Set a user's password") { user, password };
        cmd.Run(io, g, async (ctx, ct) =>
        {
            var name = ctx.Get(user);
            var secret = ctx.ReadSecret(ctx.Get(password), $"New password for {name}: ", "--password");
            var r = await ctx.Api().PatchAsync($"{Base}/{Uri.EscapeDataString(name)}", new { password = secret }, ct);
            return ctx.Print(r, () => ctx.Line($"Password changed for {name}."));
        });
        return cmd;
    }
}
