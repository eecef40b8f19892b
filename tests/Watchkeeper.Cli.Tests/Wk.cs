using System.Text.Json;
using Watchkeeper.Cli;
using Watchkeeper.Server.Tests;

namespace Watchkeeper.Cli.Tests;

public sealed record WkResult(int Code, string Out, string Err)
{
    public JsonElement Json
    {
        get
        {
            using var doc = JsonDocument.Parse(Out);
            return doc.RootElement.Clone();
        }
    }

    public override string ToString() => $"exit {Code}\n--- stdout\n{Out}\n--- stderr\n{Err}";
}

/// <summary>Runs <c>wk</c> in-process against a test server, with its own config file and the server's fake clock.</summary>
public sealed class Wk
{
    private readonly TestServer _server;

    public Wk(TestServer server, bool withUrl = true)
    {
        _server = server;
        var dir = Directory.CreateTempSubdirectory("wk-cli-").FullName;
        ConfigPath = Path.Combine(dir, "watchkeeper", "config.json");
        Env = new Dictionary<string, string?> { ["WK_CONFIG"] = ConfigPath, ["HOME"] = dir };
        if (withUrl) Env["WATCHKEEPER_URL"] = server.BaseAddress.ToString();
    }

    public string ConfigPath { get; }
    public Dictionary<string, string?> Env { get; }

    public Task<WkResult> RunAsync(params string[] args) => RunWithStdinAsync(null, args);

    public async Task<WkResult> RunWithStdinAsync(string? stdin, params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        var code = await WkApp.RunAsync(args, o, e, Env, stdin is null ? null : new StringReader(stdin), _server.Time, TestContext.Current.CancellationToken);
        return new WkResult(code, o.ToString(), e.ToString());
    }

    /// <summary>Logs in as the bootstrap admin; later commands use the saved token.</summary>
    public async Task<Wk> LoginAsync()
    {
        var r = await RunAsync("login", "--username", "admin", "--password", TestServer.AdminPassword);
        Assert.True(r.Code == 0, r.ToString());
        return this;
    }

    /// <summary>Runs a command that must succeed with JSON output and returns the JSON.</summary>
    public async Task<JsonElement> JsonAsync(params string[] args)
    {
        var r = await RunAsync([.. args, "--output", "json"]);
        Assert.True(r.Code == 0, r.ToString());
        return r.Json;
    }
}
