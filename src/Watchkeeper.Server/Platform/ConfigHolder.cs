namespace Watchkeeper.Server.Platform;

/// <summary>
/// The running configuration. A reload that fails keeps the running configuration and reports why.
/// </summary>
public sealed class ConfigHolder(string path, WatchkeeperConfig initial)
{
    private volatile WatchkeeperConfig _current = initial;
    private readonly Lock _lock = new();

    public WatchkeeperConfig Current => _current;
    public string Path { get; } = path;
    public string? LastReloadError { get; private set; }
    public bool LastReloadSucceeded => LastReloadError is null;
    public DateTimeOffset? LastReloadAt { get; private set; }

    /// <summary>Raised after a successful reload with the new configuration.</summary>
    public event Action<WatchkeeperConfig>? Reloaded;

    public ReloadResult Reload(TimeProvider time)
    {
        lock (_lock)
        {
            LastReloadAt = time.GetUtcNow();
            try
            {
                var next = ConfigLoader.Load(Path);
                if (!string.Equals(next.Storage.Postgres?.ConnectionString, _current.Storage.Postgres?.ConnectionString, StringComparison.Ordinal))
                {
                    throw new ConfigException(Path, 0, "storage", "storage settings cannot change on reload; restart the server");
                }
                _current = next;
                LastReloadError = null;
            }
            catch (ConfigException ex)
            {
                LastReloadError = ex.Message;
                return new ReloadResult(false, ex.Message);
            }
        }
        Reloaded?.Invoke(_current);
        return new ReloadResult(true, null);
    }
}

public sealed record ReloadResult(bool Ok, string? Error);
