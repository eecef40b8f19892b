using System.Net;
using System.Net.Sockets;

namespace Watchkeeper.Cli.Tests;

/// <summary>Command-line mistakes and an unreachable server: one line on stderr, the documented exit code, nothing on stdout.</summary>
public sealed class UsageTests
{
    private static async Task<WkResult> Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        var dir = Directory.CreateTempSubdirectory("wk-cli-").FullName;
        var env = new Dictionary<string, string?> { ["WK_CONFIG"] = Path.Combine(dir, "config.json"), ["WATCHKEEPER_TOKEN"] = "wk_x" };
        var code = await WkApp.RunAsync(args, o, e, env, ct: TestContext.Current.CancellationToken);
        return new WkResult(code, o.ToString(), e.ToString());
    }

    private static void OneLine(WkResult r, string contains)
    {
        var lines = r.Err.TrimEnd().Split('\n');
        Assert.True(lines.Length == 1, r.ToString());
        Assert.StartsWith("wk: ", lines[0], StringComparison.Ordinal);
        Assert.Contains(contains, lines[0]);
        Assert.DoesNotContain("   at ", r.Err);
        Assert.Equal("", r.Out);
    }

    [Theory]
    [InlineData(new[] { "incident", "start", "--title", "x" }, "Option '--severity' is required")]
    [InlineData(new[] { "incident", "start", "--title", "x", "--severity", "SEV1", "--bogus" }, "unknown option '--bogus'")]
    [InlineData(new[] { "incident" }, "Required command was not provided")]
    [InlineData(new[] { "incident", "show", "twelve" }, "'twelve' is not a valid id")]
    [InlineData(new[] { "incident", "list", "--output", "yaml" }, "'yaml'")]
    [InlineData(new[] { "incidnet", "list" }, "unknown command 'incidnet'; did you mean 'incident'?")]
    [InlineData(new[] { "incident", "list", "--sevrity", "SEV1" }, "unknown option '--sevrity'; did you mean '--severity'?")]
    [InlineData(new[] { "report", "incidents", "--since", "a while" }, "--since: 'a while' is not a time")]
    [InlineData(new[] { "report", "incidents", "--since", "7d", "--from", "2026-11-01" }, "either --since or --from/--to")]
    [InlineData(new[] { "incident", "update", "3" }, "nothing to update")]
    [InlineData(new[] { "incident", "update", "3", "--public" }, "add --message")]
    [InlineData(new[] { "incident", "update", "3", "--message", "x", "--next-update", "soon" }, "--next-update: 'soon' is not a duration")]
    [InlineData(new[] { "whoami", "--url", "ftp://example.com" }, "is not a server URL")]
    public async Task Bad_command_lines_are_usage_errors_with_exit_code_2(string[] args, string message)
    {
        var r = await Run(args);
        Assert.Equal(2, r.Code);
        OneLine(r, message);
    }

    [Fact]
    public async Task Help_prints_the_command_tree_and_exits_0()
    {
        var r = await Run("--help");
        Assert.Equal(0, r.Code);
        foreach (var c in new[] { "login", "incident", "report", "audit", "user", "token" }) Assert.Contains(c, r.Out);
        var inc = await Run("incident", "--help");
        Assert.Equal(0, inc.Code);
        foreach (var c in new[] { "start", "update", "resolve", "list", "show", "assign", "checklist", "postmortem", "ack", "note", "status-update", "reopen", "timeline", "action-item" })
            Assert.Contains(c, inc.Out);
    }

    [Fact]
    public async Task Unreachable_server_is_exit_code_3_with_one_line_naming_the_url()
    {
        // A port that was just free: nothing listens there.
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        var port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        var r = await Run("incident", "list", "--url", $"http://127.0.0.1:{port}");
        Assert.Equal(3, r.Code);
        OneLine(r, $"cannot reach the Watchkeeper server at http://127.0.0.1:{port}/");
        Assert.Contains("connection refused", r.Err);
    }
}
