using System.Diagnostics;
using Watchkeeper.Server.Tests;

namespace Watchkeeper.Cli.Tests;

/// <summary>The seed's quick-reference scripts, run with bash as operators run them, over the built wk.</summary>
public sealed class ScriptTests
{
    internal static async Task<WkResult> Script(string name, IDictionary<string, string> env, params string[] args)
    {
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        psi.ArgumentList.Add(Path.Combine(TestServer.RepoRoot, "scripts", name));
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["WK"] = Path.Combine(AppContext.BaseDirectory, "wk.dll");
        psi.Environment["WK_CONFIG"] = Path.Combine(Directory.CreateTempSubdirectory("wk-script-").FullName, "config.json");
        psi.Environment.Remove("WATCHKEEPER_URL");
        psi.Environment.Remove("WATCHKEEPER_TOKEN");
        foreach (var (k, v) in env) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        p.StandardInput.Close();
        var ct = TestContext.Current.CancellationToken;
        var stdout = p.StandardOutput.ReadToEndAsync(ct);
        var stderr = p.StandardError.ReadToEndAsync(ct);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        await p.WaitForExitAsync(timeout.Token);
        return new WkResult(p.ExitCode, await stdout, await stderr);
    }

    [Fact]
    public async Task Incident_scripts_start_update_and_resolve_through_wk()
    {
        if (OperatingSystem.IsWindows()) Assert.Skip("bash scripts");
        await using var s = await TestServer.StartAsync();
        var env = new Dictionary<string, string> { ["WATCHKEEPER_URL"] = s.BaseAddress.ToString(), ["WATCHKEEPER_TOKEN"] = await s.AdminTokenAsync() };

        var start = await Script("incident-start.sh", env, "--title", "Database unreachable", "--severity", "SEV2", "--services", "database", "-o", "json");
        Assert.True(start.Code == 0, start.ToString());
        var id = start.Json.GetProperty("id").GetInt64().ToString(System.Globalization.CultureInfo.InvariantCulture);

        var update = await Script("incident-update.sh", env, id, "--status", "identified", "--message", "Disk full on the primary", "--public");
        Assert.True(update.Code == 0, update.ToString());
        Assert.Contains("status update posted", update.Out);

        var resolve = await Script("incident-resolve.sh", env, id, "--message", "Freed disk space", "--output", "json");
        Assert.True(resolve.Code == 0, resolve.ToString());
        Assert.Equal("resolved", resolve.Json.GetProperty("status").GetString());

        var again = await Script("incident-update.sh", env, id, "--status", "monitoring");
        Assert.Equal(1, again.Code);
        Assert.Equal("wk: cannot move an incident from 'resolved' to 'monitoring'; allowed: investigating", again.Err.TrimEnd());
    }

    [Theory]
    [InlineData("incident-start.sh")]
    [InlineData("incident-update.sh")]
    [InlineData("incident-resolve.sh")]
    [InlineData("maintenance-start.sh")]
    [InlineData("maintenance-validate.sh")]
    [InlineData("maintenance-complete.sh")]
    public async Task Scripts_without_arguments_print_a_usage_line_and_exit_2(string name)
    {
        if (OperatingSystem.IsWindows()) Assert.Skip("bash scripts");
        var r = await Script(name, new Dictionary<string, string>());
        Assert.Equal(2, r.Code);
        Assert.StartsWith("usage: " + name, r.Err, StringComparison.Ordinal);
        var help = await Script(name, new Dictionary<string, string>(), "--help");
        Assert.Equal(0, help.Code);
        Assert.Contains("usage: " + name, help.Out);
        Assert.Contains("Options:", help.Out);
    }

    [Fact]
    public async Task Scripts_pass_wk_exit_codes_through()
    {
        if (OperatingSystem.IsWindows()) Assert.Skip("bash scripts");
        var r = await Script("incident-resolve.sh", new Dictionary<string, string> { ["WATCHKEEPER_TOKEN"] = "wk_x" }, "1", "--url", "http://127.0.0.1:1");
        Assert.Equal(3, r.Code);
        var bad = await Script("incident-start.sh", new Dictionary<string, string>(), "--title", "x");
        Assert.Equal(2, bad.Code);
        Assert.Contains("--severity", bad.Err);
    }
}
