using System.Globalization;
using Watchkeeper.Server.Tests;

namespace Watchkeeper.Cli.Tests;

public sealed class AdminCommandTests
{
    [Fact]
    public async Task Users_are_added_listed_given_roles_disabled_and_have_passwords_changed()
    {
        await using var s = await TestServer.StartAsync();
        var wk = await new Wk(s).LoginAsync();
        var add = await wk.RunAsync("user", "add", "alice", "--role", "responder", "--password", "alice-password-1");
        Assert.True(add.Code == 0, add.ToString());
        Assert.Contains("Created user alice (responder)", add.Out);
        var fromStdin = await wk.RunWithStdinAsync("bob-password-1\n", "user", "add", "bob", "--role", "viewer");
        Assert.True(fromStdin.Code == 0, fromStdin.ToString());

        var list = await wk.RunAsync("user", "list");
        Assert.Contains(list.Out.Split('\n'), l => l.Contains("alice", StringComparison.Ordinal) && l.Contains("responder", StringComparison.Ordinal));
        Assert.Equal(3, (await wk.JsonAsync("user", "list")).GetArrayLength());

        Assert.Equal("admin", (await wk.JsonAsync("user", "role", "alice", "admin")).GetProperty("role").GetString());
        var badRole = await wk.RunAsync("user", "role", "alice", "root");
        Assert.Equal(1, badRole.Code);
        Assert.Contains("role", badRole.Err);

        var shortPw = await wk.RunAsync("user", "passwd", "bob", "--password", "short");
        Assert.Equal(1, shortPw.Code);
        Assert.Contains("password (--password): must be at least 8 characters", shortPw.Err);
        Assert.Equal(0, (await wk.RunAsync("user", "passwd", "bob", "--password", "bob-password-2")).Code);
        var bob = new Wk(s);
        Assert.Equal(0, (await bob.RunAsync("login", "-u", "bob", "-p", "bob-password-2")).Code);

        Assert.True((await wk.JsonAsync("user", "disable", "bob")).GetProperty("disabled").GetBoolean());
        Assert.Equal(4, (await bob.RunAsync("whoami")).Code);
        Assert.Equal(0, (await wk.RunAsync("user", "enable", "bob")).Code);
        Assert.Equal(0, (await bob.RunAsync("whoami")).Code);

        var missing = await wk.RunAsync("user", "role", "nobody", "viewer");
        Assert.Equal(1, missing.Code);
        Assert.Equal("wk: user 'nobody' not found", missing.Err.TrimEnd());
        var forbidden = await bob.RunAsync("user", "list");
        Assert.Equal(4, forbidden.Code);
    }

    [Fact]
    public async Task Tokens_are_created_once_listed_and_revoked()
    {
        await using var s = await TestServer.StartAsync();
        var wk = await new Wk(s).LoginAsync();
        var created = await wk.RunAsync("token", "create", "ci-deploy");
        Assert.True(created.Code == 0, created.ToString());
        var token = created.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1].Trim();
        var ci = new Wk(s);
        ci.Env["WATCHKEEPER_TOKEN"] = token;
        Assert.Equal(0, (await ci.RunAsync("whoami")).Code);

        var list = await wk.JsonAsync("token", "list");
        var entry = list.EnumerateArray().Single(t => t.GetProperty("name").GetString() == "ci-deploy");
        var id = entry.GetProperty("id").GetInt64().ToString(CultureInfo.InvariantCulture);
        var table = await wk.RunAsync("token", "list", "--all");
        Assert.Contains("ci-deploy", table.Out);

        var revoked = await wk.RunAsync("token", "revoke", id);
        Assert.True(revoked.Code == 0, revoked.ToString());
        Assert.Equal(4, (await ci.RunAsync("whoami")).Code);
        var again = await wk.RunAsync("token", "revoke", "9999");
        Assert.Equal(1, again.Code);
        Assert.Equal("wk: token 9999 not found", again.Err.TrimEnd());
    }
    [Fact]
    public async Task Token_create_takes_an_expiry_and_the_listing_shows_it()
    {
        await using var s = await TestServer.StartAsync();
        var wk = await new Wk(s).LoginAsync();
        var created = await wk.RunAsync("token", "create", "ci-deploy", "--expires", "30d");
        Assert.True(created.Code == 0, created.ToString());
        var expires = s.Time.GetUtcNow().AddDays(30);
        Assert.Contains("expires " + expires.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture), created.Out);
        var token = created.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1].Trim();

        var list = await wk.JsonAsync("token", "list");
        var entry = list.EnumerateArray().Single(t => t.GetProperty("name").GetString() == "ci-deploy");
        Assert.Equal(expires, entry.GetProperty("expires_at").GetDateTimeOffset());
        var table = await wk.RunAsync("token", "list");
        Assert.Contains("EXPIRES", table.Out);
        Assert.Contains(expires.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture), table.Out);

        s.Time.Advance(TimeSpan.FromDays(31));
        var ci = new Wk(s);
        ci.Env["WATCHKEEPER_TOKEN"] = token;
        Assert.Equal(4, (await ci.RunAsync("whoami")).Code);
        Assert.Contains("expired", (await wk.RunAsync("token", "list")).Out);

        var bad = await wk.RunAsync("token", "create", "x", "--expires", "soon");
        Assert.NotEqual(0, bad.Code);
        Assert.Single(bad.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("expires", bad.Err);
    }
}
