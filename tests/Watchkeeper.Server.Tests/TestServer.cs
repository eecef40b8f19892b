using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using Watchkeeper.Server;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Tests;

/// <summary>
/// A real Watchkeeper server on a loopback port with its own data directory and a FakeTimeProvider.
/// With <c>postgres: true</c> it uses a fresh database on the PostgreSQL the test script started.
/// </summary>
public sealed class TestServer : IAsyncDisposable
{
    public const string AdminPassword = "admin-test-password";
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private readonly WebApplication _app;
    private readonly string? _pgDatabase;

    public FakeTimeProvider Time { get; }
    public string DataDir { get; }
    public string ConfigPath { get; }
    public Uri BaseAddress { get; }
    public IServiceProvider Services => _app.Services;

    private TestServer(WebApplication app, FakeTimeProvider time, string dataDir, string configPath, Uri baseAddress, string? pgDatabase)
    {
        _app = app;
        Time = time;
        DataDir = dataDir;
        ConfigPath = configPath;
        BaseAddress = baseAddress;
        _pgDatabase = pgDatabase;
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

    public static string DefaultConfig => Path.Combine(RepoRoot, "config", "openpolicy", "watchkeeper.yml");

    public static string? PostgresConnectionString => Environment.GetEnvironmentVariable("WATCHKEEPER_TEST_POSTGRES");

    /// <summary>Copies the shipped configuration into a temp folder, optionally edited, and returns its path.</summary>
    public static string CopyConfig(string dir, Func<string, string>? edit = null)
    {
        var src = Path.GetDirectoryName(DefaultConfig)!;
        foreach (var f in Directory.GetFiles(src, "*", SearchOption.AllDirectories))
        {
            var dest = Path.Combine(dir, "config", Path.GetRelativePath(src, f));
            Directory.CreateDirectory(Path.GetDirectoryName(dest)!);
            File.Copy(f, dest, true);
        }
        var path = Path.Combine(dir, "config", "watchkeeper.yml");
        if (edit is not null) File.WriteAllText(path, edit(File.ReadAllText(path)));
        return path;
    }

    /// <summary>
    /// Loads the shipped configuration with <paramref name="from"/> (which must be in it) replaced by <paramref name="to"/>
    /// and returns the error that must stop it, checked to name <paramref name="key"/> at a line of the file and to say
    /// <paramref name="problem"/>.
    /// </summary>
    public static Watchkeeper.Metrics.Configuration.ConfigException AssertShippedConfigEditFails(string from, string to, string key, string problem)
    {
        var dir = Directory.CreateTempSubdirectory("wk-config-edit-").FullName;
        try
        {
            var path = CopyConfig(dir, y =>
            {
                Assert.Contains(from, y, StringComparison.Ordinal);
                return y.Replace(from, to, StringComparison.Ordinal);
            });
            var ex = Assert.Throws<Watchkeeper.Metrics.Configuration.ConfigException>(() => ConfigLoader.Load(path));
            Assert.Equal(key, ex.Key);
            Assert.Contains(problem, ex.Message, StringComparison.Ordinal);
            Assert.True(ex.Line > 0, ex.Message);
            Assert.StartsWith($"{path}:{ex.Line}:{key}: ", ex.Message, StringComparison.Ordinal);
            return ex;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>
    /// Starts a server. The SLA checker and audit checkpointer workers are off unless asked for, so
    /// advancing the fake clock never races a worker: tests call <c>IncidentService.CheckSlaAsync</c> themselves.
    /// </summary>
    public static async Task<TestServer> StartAsync(bool postgres = false, Func<string, string>? editConfig = null, DateTimeOffset? start = null,
        string? dataDir = null, bool workers = false, string? pgDatabase = null, string adminPassword = AdminPassword,
        Action<WebApplicationBuilder>? configure = null)
    {
        var time = new FakeTimeProvider(start ?? new DateTimeOffset(2026, 11, 2, 9, 0, 0, TimeSpan.Zero));
        var root = dataDir is null ? Directory.CreateTempSubdirectory("wk-test-").FullName : Path.GetDirectoryName(dataDir)!;
        var data = dataDir ?? Path.Combine(root, "data");
        string? pgDb = null;
        var edit = editConfig;
        if (postgres)
        {
            var cs = PostgresConnectionString ?? throw new InvalidOperationException("WATCHKEEPER_TEST_POSTGRES is not set: run the suite with ./scripts/test.sh");
            pgDb = pgDatabase ?? await CreatePostgresDatabaseAsync();
            var dbcs = new NpgsqlConnectionStringBuilder(cs) { Database = pgDb }.ToString();
            edit = y => (editConfig ?? (s => s))(y.Replace("storage: {}", $"storage:\n  postgres:\n    connection_string: \"{dbcs}\"", StringComparison.Ordinal));
        }
        var config = CopyConfig(root, edit);
        var serve = new ServeOptions { ConfigPath = config, DataDir = data, Listen = "127.0.0.1:0", AdminPassword = adminPassword, AlertWarmup = false };
        var app = ServerHost.Build(serve, b =>
        {
            b.Services.Replace(ServiceDescriptor.Singleton<TimeProvider>(time));
            b.Logging.SetMinimumLevel(LogLevel.Warning);
            if (!workers)
            {
                // Only the clock-driven workers whose effects tests assert on; other features' hosted services stay.
                foreach (var d in b.Services.Where(d => d.ServiceType == typeof(Microsoft.Extensions.Hosting.IHostedService)
                             && (d.ImplementationType == typeof(Incidents.SlaWorker) || d.ImplementationType == typeof(AuditCheckpointWorker)
                                 || d.ImplementationType == typeof(Incidents.AlertIncidentWorker)
                                 || d.ImplementationType == typeof(Watchkeeper.Server.Maintenance.MaintenanceWorker))).ToList())
                    b.Services.Remove(d);
            }
            configure?.Invoke(b);
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new TestServer(app, time, data, config, new Uri(address), pgDatabase is null ? pgDb : null) { _tempRoot = dataDir is null ? root : null };
    }

    /// <summary>Skips the calling test when PostgreSQL is asked for but not available (fails it when <c>CI</c> is set).</summary>
    public static void SkipUnlessAvailable(bool postgres)
    {
        if (postgres && PostgresConnectionString is null)
            MissingPeer("PostgreSQL not available: set WATCHKEEPER_TEST_POSTGRES (./scripts/test.sh starts one)");
    }

    /// <summary>
    /// A real peer the test needs is missing: skip on a developer machine, fail when <c>CI</c> is set, so a CI run
    /// without the peer is red instead of green with silent skips.
    /// </summary>
    public static void MissingPeer(string message)
    {
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI"))) Assert.Fail("CI is set and a peer is missing: " + message);
        Assert.Skip(message);
    }

    /// <summary>Creates an empty database on the test PostgreSQL and returns its name.</summary>
    public static async Task<string> CreatePostgresDatabaseAsync()
    {
        var cs = PostgresConnectionString ?? throw new InvalidOperationException("WATCHKEEPER_TEST_POSTGRES is not set: run the suite with ./scripts/test.sh");
        var name = "wk_" + Guid.NewGuid().ToString("N")[..12];
        await using var c = new NpgsqlConnection(cs);
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand($"CREATE DATABASE {name}", c);
        await cmd.ExecuteNonQueryAsync();
        return name;
    }

    public static string PostgresConnectionStringFor(string database) =>
        new NpgsqlConnectionStringBuilder(PostgresConnectionString) { Database = database }.ToString();

    public static async Task DropPostgresDatabaseAsync(string database)
    {
        if (PostgresConnectionString is not { } cs) return;
        NpgsqlConnection.ClearAllPools();
        await using var c = new NpgsqlConnection(cs);
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand($"DROP DATABASE IF EXISTS {database} WITH (FORCE)", c);
        await cmd.ExecuteNonQueryAsync();
    }

    public T Get<T>() where T : notnull => _app.Services.GetRequiredService<T>();

    /// <summary>Creates a user with the role directly (no login, so the login rate limit is untouched) and returns name and API token.</summary>
    public async Task<(string Username, string Token)> NewUserAsync(string role, string? username = null)
    {
        var users = Get<Users>();
        var name = username ?? role + "-" + Guid.NewGuid().ToString("N")[..6];
        await users.CreateAsync(name, "password-" + name, role, "admin");
        var t = await users.CreateTokenAsync(name, "test", name);
        return (name, t.Token);
    }

    private string? _adminToken;
    private string? _tempRoot;

    /// <summary>An admin API token created without the login endpoint (cached per server).</summary>
    public async Task<string> AdminApiTokenAsync() => _adminToken ??= (await Get<Users>().CreateTokenAsync("admin", "test", "admin")).Token;

    /// <summary>An HTTP client authenticated with a fresh token for a new user of the role.</summary>
    public async Task<HttpClient> ClientAsAsync(string role) => Client((await NewUserAsync(role)).Token);

    public HttpClient Client(string? token = null)
    {
        var c = new HttpClient { BaseAddress = BaseAddress };
        if (token is not null) c.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return c;
    }

    /// <summary>Logs in as admin and returns an API token.</summary>
    public async Task<string> AdminTokenAsync() => await TokenAsync("admin", AdminPassword);

    public async Task<string> TokenAsync(string user, string password)
    {
        using var c = Client();
        var r = await c.PostAsJsonAsync("/api/v1/auth/login", new { username = user, password });
        r.EnsureSuccessStatusCode();
        var doc = await r.Content.ReadFromJsonAsync<JsonElement>();
        return doc.GetProperty("token").GetString()!;
    }

    /// <summary>Creates a user with the role and returns a token for them.</summary>
    public async Task<string> UserTokenAsync(string role)
    {
        using var c = Client(await AdminTokenAsync());
        var name = role + "-" + Guid.NewGuid().ToString("N")[..6];
        var r = await c.PostAsJsonAsync("/api/v1/users", new { username = name, password = "password-" + name, role });
        r.EnsureSuccessStatusCode();
        return await TokenAsync(name, "password-" + name);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        if (_pgDatabase is not null) await DropPostgresDatabaseAsync(_pgDatabase);
        if (_tempRoot is not null)
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try { Directory.Delete(_tempRoot, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}
