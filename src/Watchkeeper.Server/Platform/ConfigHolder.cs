using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Primitives;
using Watchkeeper.Metrics.Configuration;

namespace Watchkeeper.Server.Platform;

/// <summary>
/// The running configuration. A reload that fails (the file does not load, or changes what cannot change while
/// running) keeps the running configuration and reports why; a reload that succeeds swaps it atomically, signals
/// <c>IOptionsMonitor&lt;T&gt;</c> through <see cref="GetReloadToken"/> and raises <see cref="Reloaded"/>.
/// </summary>
public sealed class ConfigHolder(string path, WatchkeeperConfig initial)
{
    private volatile WatchkeeperConfig _current = initial;
    private ConfigurationReloadToken _token = new();
    private readonly Lock _lock = new();

    public WatchkeeperConfig Current => _current;
    public string Path { get; } = path;
    public string? LastReloadError { get; private set; }
    public bool LastReloadSucceeded => LastReloadError is null;
    public DateTimeOffset? LastReloadAt { get; private set; }

    /// <summary>Raised after a successful reload with the new configuration.</summary>
    public event Action<WatchkeeperConfig>? Reloaded;

    /// <summary>Fires once when the running configuration is replaced.</summary>
    public IChangeToken GetReloadToken() => Volatile.Read(ref _token);

    public ReloadResult Reload(TimeProvider time)
    {
        lock (_lock)
        {
            LastReloadAt = time.GetUtcNow();
            try
            {
                var next = ConfigLoader.Load(Path);
                if (!string.Equals(next.Storage.Postgres?.ConnectionString, _current.Storage.Postgres?.ConnectionString, StringComparison.Ordinal))
                    throw next.Source.Error("storage.postgres", "storage settings cannot change on reload; restart the server");
                _current = next;
                LastReloadError = null;
            }
            catch (ConfigException ex)
            {
                LastReloadError = ex.Message;
                return new ReloadResult(false, ex.Message);
            }
        }
        Interlocked.Exchange(ref _token, new ConfigurationReloadToken()).OnReload();
        Reloaded?.Invoke(_current);
        return new ReloadResult(true, null);
    }
}

public sealed record ReloadResult(bool Ok, string? Error);
