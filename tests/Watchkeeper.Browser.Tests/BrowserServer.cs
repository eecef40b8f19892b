using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Time.Testing;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Watchkeeper.Server;
using Watchkeeper.Server.Incidents;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Browser.Tests;

/// <summary>
/// A real Watchkeeper server on a loopback port (own data directory, FakeTimeProvider) plus Debian's
/// Chromium driven by Playwright's bundled driver. Tests skip with a message when Chromium is absent.
/// </summary>
public sealed class BrowserServer : IAsyncDisposable
{
    public const string AdminPassword = "admin-browser-password";

    private readonly WebApplication _app;
    private readonly IPlaywright _playwright;
    private readonly string _root;

    public FakeTimeProvider Time { get; }
    public Uri BaseAddress { get; }
    public IBrowser Browser { get; }
    public IServiceProvider Services => _app.Services;
    public IncidentService Incidents => _app.Services.GetRequiredService<IncidentService>();

    private BrowserServer(WebApplication app, FakeTimeProvider time, Uri baseAddress, IPlaywright playwright, IBrowser browser, string root)
    {
        _app = app;
        Time = time;
        BaseAddress = baseAddress;
        _playwright = playwright;
        Browser = browser;
        _root = root;
    }

    public static string RepoRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Watchkeeper.slnx"))) dir = dir.Parent;
            return dir?.FullName ?? throw new InvalidOperationException("repository root not found");
        }
    }

    /// <summary>Where screenshots go: TestResults/browser at the repository root (kept by CI with the test reports).</summary>
    public static string ResultsDir
    {
        get
        {
            var d = Path.Combine(RepoRoot, "TestResults", "browser");
            Directory.CreateDirectory(d);
            return d;
        }
    }

    /// <summary>The Chromium executable on PATH, or null.</summary>
    public static string? FindChromium()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            foreach (var name in new[] { "chromium", "chromium-browser" })
            {
                var p = Path.Combine(dir, name);
                if (File.Exists(p)) return p;
            }
        }
        return null;
    }

    public static async Task<BrowserServer> StartAsync(Action<WebApplicationBuilder>? configure = null)
    {
        var chromium = FindChromium();
        // With CI set a missing browser fails the suite instead of skipping it.
        if (chromium is null && !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI"))) Assert.Fail("CI is set and a peer is missing: Chromium is not installed (looked for 'chromium' on PATH)");
        Assert.SkipWhen(chromium is null, "Chromium is not installed (looked for 'chromium' on PATH); install Debian's chromium package to run the browser tests.");

        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 2, 9, 0, 0, TimeSpan.Zero));
        var root = Directory.CreateTempSubdirectory("wk-browser-").FullName;
        var config = CopyConfig(root);
        // The alert-path warm-up is tested on its own (AlertPathWarmupTests, in process and in a real server process).
        var serve = new ServeOptions { ConfigPath = config, DataDir = Path.Combine(root, "data"), Listen = "127.0.0.1:0", AdminPassword = AdminPassword, AlertWarmup = false };
        var app = ServerHost.Build(serve, b =>
        {
            b.Services.Replace(ServiceDescriptor.Singleton<TimeProvider>(time));
            b.Logging.SetMinimumLevel(LogLevel.Warning);
            configure?.Invoke(b);
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

        Assertions.SetDefaultExpectTimeout(20_000);
        var playwright = await Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = chromium,
            Headless = true,
            Args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        });
        return new BrowserServer(app, time, new Uri(address), playwright, browser, root);
    }

    private static string CopyConfig(string dir)
    {
        var src = Path.Combine(RepoRoot, "config", "openpolicy");
        foreach (var f in Directory.GetFiles(src, "*", SearchOption.AllDirectories))
        {
            var dest = Path.Combine(dir, "config", Path.GetRelativePath(src, f));
            Directory.CreateDirectory(Path.GetDirectoryName(dest)!);
            File.Copy(f, dest, true);
        }
        return Path.Combine(dir, "config", "watchkeeper.yml");
    }

    /// <summary>Where the documentation's screenshots go (docs/screenshots), so the docs show the current pages.</summary>
    public static string DocsScreenshots
    {
        get
        {
            var d = Path.Combine(RepoRoot, "docs", "screenshots");
            Directory.CreateDirectory(d);
            return d;
        }
    }

    /// <summary>Creates a user with the role directly through the service.</summary>
    public async Task<string> CreateUserAsync(string username, string role)
    {
        await _app.Services.GetRequiredService<Users>().CreateAsync(username, "password-" + username, role, "test");
        return "password-" + username;
    }

    /// <summary>A fresh browser context and page, logged in through the login form.</summary>
    public async Task<IPage> LoginAsync(string username = "admin", string? password = null, bool javaScript = true, int width = 1400, int height = 1000)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = BaseAddress.ToString().TrimEnd('/'),
            ViewportSize = new ViewportSize { Width = width, Height = height },
            JavaScriptEnabled = javaScript,
        });
        // Generous timeouts: CI machines are small and shared; a slow page is not a failure.
        context.SetDefaultTimeout(30_000);
        context.SetDefaultNavigationTimeout(60_000);
        var page = await context.NewPageAsync();
        await page.GotoAsync("/incidents");
        Assert.Contains("/login", page.Url, StringComparison.Ordinal);
        await page.FillAsync("#username", username);
        await page.FillAsync("#password", password ?? AdminPassword);
        await page.ClickAsync("button[type=submit]");
        // Polls the page's URL rather than waiting for a navigation event: on a loaded machine the
        // redirect can complete before an event-based wait subscribes, and that wait then never ends.
        try
        {
            await Assertions.Expect(page).ToHaveURLAsync(new Regex("/incidents$"));
        }
        catch (PlaywrightException ex)
        {
            throw new InvalidOperationException($"login did not reach /incidents; at {page.Url}: {await page.ContentAsync()}", ex);
        }
        return page;
    }

    public async ValueTask DisposeAsync()
    {
        await Browser.CloseAsync();
        _playwright.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        try { Directory.Delete(_root, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
