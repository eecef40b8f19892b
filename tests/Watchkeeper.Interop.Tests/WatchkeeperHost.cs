using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Watchkeeper.Server;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Interop.Tests;

/// <summary>
/// A real Watchkeeper server on a loopback port with its own data directory and the system clock
/// (peers scrape, write and query in real time). Its configuration is the shipped one with the
/// Prometheus sections replaced, built-in demo and host targets off.
/// </summary>
public sealed class WatchkeeperHost : IAsyncDisposable
{
    public const string AdminPassword = "admin-interop-password";

    private readonly WebApplication _app;
    private readonly string _root;

    public Uri BaseAddress { get; }
    public int Port => BaseAddress.Port;
    public Uri PrometheusApi => new(BaseAddress, "/prometheus");
    public IServiceProvider Services => _app.Services;

    private WatchkeeperHost(WebApplication app, string root, Uri baseAddress)
    {
        _app = app;
        _root = root;
        BaseAddress = baseAddress;
    }

    /// <summary>
    /// Starts Watchkeeper. <paramref name="prometheusSections"/> (YAML: global, scrape_configs, remote_write ...) replaces the
    /// shipped global and scrape_configs; it may be a function of the port Watchkeeper will listen on.
    /// </summary>
    /// <param name="ruleFiles">Extra rule files (name to YAML) put next to the shipped ones in config/rules/.</param>
    public static async Task<WatchkeeperHost> StartAsync(Func<int, string>? prometheusSections = null, IReadOnlyDictionary<string, string>? ruleFiles = null)
    {
        var root = Directory.CreateTempSubdirectory("wk-interop-").FullName;
        var port = Peers.FreePort();
        var src = Path.Combine(Peers.RepoRoot, "config", "openpolicy");
        foreach (var f in Directory.GetFiles(src, "*", SearchOption.AllDirectories))
        {
            var dest = Path.Combine(root, "config", Path.GetRelativePath(src, f));
            Directory.CreateDirectory(Path.GetDirectoryName(dest)!);
            File.Copy(f, dest, true);
        }
        foreach (var (name, text) in ruleFiles ?? new Dictionary<string, string>())
            await File.WriteAllTextAsync(Path.Combine(root, "config", "rules", name), text);
        var configPath = Path.Combine(root, "config", "watchkeeper.yml");
        var yaml = await File.ReadAllTextAsync(configPath);
        yaml = Replace(yaml, "global:\n  scrape_interval: 15s\n  scrape_timeout: 10s\n  evaluation_interval: 15s\n", "");
        yaml = Replace(yaml, "scrape_configs: []\n", (prometheusSections?.Invoke(port) ?? "global:\n  scrape_interval: 1s\n") + "\n");
        yaml = Replace(yaml, "host_metrics:\n  enabled: true", "host_metrics:\n  enabled: false");
        yaml = Replace(yaml, "demo:\n  enabled: true", "demo:\n  enabled: false");
        // A fixture that brings its own Alertmanager sections replaces the shipped alertmanager.yml (the two cannot be combined).
        if (prometheusSections?.Invoke(port) is { } extra && extra.Contains("\nroute:", StringComparison.Ordinal))
            yaml = Replace(yaml, "alertmanager_config_file: alertmanager.yml\n", "");
        await File.WriteAllTextAsync(configPath, yaml);

        // The alert-path warm-up is tested on its own (AlertPathWarmupTests, in process and in a real server process).
        var serve = new ServeOptions { ConfigPath = configPath, DataDir = Path.Combine(root, "data"), Listen = $"127.0.0.1:{port}", AdminPassword = AdminPassword, AlertWarmup = false };
        var app = ServerHost.Build(serve, b => b.Logging.SetMinimumLevel(LogLevel.Warning));
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new WatchkeeperHost(app, root, new Uri(address));
    }

    private static string Replace(string text, string what, string with) =>
        text.Contains(what, StringComparison.Ordinal)
            ? text.Replace(what, with, StringComparison.Ordinal)
            : throw new InvalidOperationException($"the shipped watchkeeper.yml no longer contains {JsonSerializer.Serialize(what)}; update the interop fixture");

    public HttpClient Client(string? token = null)
    {
        var c = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        if (token is not null) c.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return c;
    }

    /// <summary>Creates a user with <paramref name="role"/> and returns an API token for them.</summary>
    public async Task<string> TokenAsync(string role)
    {
        using var c = Client();
        var admin = await LoginAsync(c, "admin", AdminPassword);
        c.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", admin);
        var name = role + "-" + Guid.NewGuid().ToString("N")[..6];
        var r = await c.PostAsJsonAsync("/api/v1/users", new { username = name, password = "password-" + name, role });
        r.EnsureSuccessStatusCode();
        return await LoginAsync(c, name, "password-" + name);
    }

    private static async Task<string> LoginAsync(HttpClient c, string user, string password)
    {
        var r = await c.PostAsJsonAsync("/api/v1/auth/login", new { username = user, password });
        r.EnsureSuccessStatusCode();
        var doc = await r.Content.ReadFromJsonAsync<JsonElement>();
        return doc.GetProperty("token").GetString()!;
    }

    public async ValueTask DisposeAsync()
    {
        using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15))) await _app.StopAsync(cts.Token);
        await _app.DisposeAsync();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
