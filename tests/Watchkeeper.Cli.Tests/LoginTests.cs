using System.Text.Json;
using Watchkeeper.Server.Tests;

namespace Watchkeeper.Cli.Tests;

public sealed class LoginTests
{
    [Fact]
    public async Task Login_saves_url_and_token_in_a_config_file_only_the_user_can_read()
    {
        await using var s = await TestServer.StartAsync();
        var wk = new Wk(s);
        var r = await wk.RunAsync("login", "--username", "admin", "--password", TestServer.AdminPassword);
        Assert.True(r.Code == 0, r.ToString());
        Assert.Contains("Logged in to", r.Out);
        Assert.Contains("as admin (admin)", r.Out);
        Assert.Equal("", r.Err);

        using var cfg = JsonDocument.Parse(File.ReadAllText(wk.ConfigPath));
        Assert.Equal(s.BaseAddress.ToString().TrimEnd('/'), cfg.RootElement.GetProperty("url").GetString());
        Assert.StartsWith("wk", cfg.RootElement.GetProperty("token").GetString(), StringComparison.Ordinal);
        Assert.Equal("admin", cfg.RootElement.GetProperty("username").GetString());
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(wk.ConfigPath));

        // The saved token is used with no flags or environment at all, URL included.
        wk.Env.Remove("WATCHKEEPER_URL");
        var who = await wk.JsonAsync("whoami");
        Assert.Equal("admin", who.GetProperty("username").GetString());
        Assert.Equal("admin", who.GetProperty("role").GetString());
    }

    [Fact]
    public async Task Login_reads_the_password_from_stdin_and_does_not_echo_the_token()
    {
        await using var s = await TestServer.StartAsync();
        var wk = new Wk(s);
        var r = await wk.RunWithStdinAsync(TestServer.AdminPassword + "\n", "login", "-u", "admin", "--output", "json");
        Assert.True(r.Code == 0, r.ToString());
        Assert.Equal("admin", r.Json.GetProperty("username").GetString());
        Assert.False(r.Json.TryGetProperty("token", out _));
        Assert.Equal(0, (await wk.RunAsync("whoami")).Code);
    }

    [Fact]
    public async Task Wrong_password_is_an_auth_error_with_exit_code_4()
    {
        await using var s = await TestServer.StartAsync();
        var wk = new Wk(s);
        var r = await wk.RunAsync("login", "--username", "admin", "--password", "not-the-password");
        Assert.Equal(4, r.Code);
        Assert.Equal("wk: unknown user, wrong password or disabled account\n", r.Err.Replace("\r", "", StringComparison.Ordinal));
        Assert.False(File.Exists(wk.ConfigPath));
    }

    [Fact]
    public async Task Without_a_token_commands_exit_4_and_say_how_to_log_in()
    {
        await using var s = await TestServer.StartAsync();
        var wk = new Wk(s);
        var r = await wk.RunAsync("incident", "list");
        Assert.Equal(4, r.Code);
        Assert.StartsWith("wk: not logged in to http://127.0.0.1:", r.Err, StringComparison.Ordinal);
        Assert.Contains("wk login", r.Err);
        Assert.Single(r.Err.TrimEnd().Split('\n'));
        Assert.Equal("", r.Out);
    }

    [Fact]
    public async Task Token_flag_overrides_environment_which_overrides_the_config_file()
    {
        await using var s = await TestServer.StartAsync();
        var wk = await new Wk(s).LoginAsync();
        wk.Env["WATCHKEEPER_TOKEN"] = "wk_bogus";
        var env = await wk.RunAsync("whoami");
        Assert.Equal(4, env.Code);
        Assert.Contains("wk login", env.Err);

        var viewerToken = await s.UserTokenAsync("viewer");
        var flag = await wk.JsonAsync("whoami", "--token", viewerToken);
        Assert.Equal("viewer", flag.GetProperty("role").GetString());
    }

    [Fact]
    public async Task The_saved_token_is_never_sent_to_another_server()
    {
        await using var s = await TestServer.StartAsync();
        await using var other = await TestServer.StartAsync();
        var wk = await new Wk(s).LoginAsync();
        var r = await wk.RunAsync("whoami", "--url", other.BaseAddress.ToString());
        Assert.Equal(4, r.Code);
        Assert.Contains("not logged in to " + other.BaseAddress.ToString().TrimEnd('/'), r.Err);
    }

    [Fact]
    public async Task Logout_revokes_the_token_on_the_server()
    {
        await using var s = await TestServer.StartAsync();
        var wk = await new Wk(s).LoginAsync();
        using var cfg = JsonDocument.Parse(File.ReadAllText(wk.ConfigPath));
        var token = cfg.RootElement.GetProperty("token").GetString()!;
        Assert.Equal(0, (await wk.RunAsync("logout")).Code);
        Assert.Equal(4, (await wk.RunAsync("whoami")).Code);
        wk.Env["WATCHKEEPER_TOKEN"] = token;
        Assert.Equal(4, (await wk.RunAsync("whoami")).Code);
    }

    [Fact]
    public async Task Saving_an_existing_token_checks_it_first()
    {
        await using var s = await TestServer.StartAsync();
        var wk = new Wk(s);
        var token = await s.UserTokenAsync("responder");
        var r = await wk.RunAsync("login", "--token", token);
        Assert.True(r.Code == 0, r.ToString());
        Assert.Equal("responder", (await wk.JsonAsync("whoami")).GetProperty("role").GetString());
        Assert.Equal(4, (await new Wk(s).RunAsync("login", "--token", "wk_wrong")).Code);
    }
}
