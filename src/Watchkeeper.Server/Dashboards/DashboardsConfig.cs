using Watchkeeper.Server.Platform;
using Watchkeeper.Metrics.Configuration;
using YamlDotNet.Serialization;

namespace Watchkeeper.Server.Dashboards;

/// <summary>
/// <c>dashboards:</c> in watchkeeper.yml: folders of Grafana dashboard JSON files provisioned on start and on reload
/// (read-only in the UI and API, as Grafana's file provisioning), and limits on every dashboard.
/// </summary>
public sealed class DashboardsConfig
{
    /// <summary>Folders (relative to the config file) whose <c>*.json</c> files are provisioned.</summary>
    public List<string> Provisioning { get; set; } = [];
    public DashboardLimitsConfig Limits { get; set; } = new();

    /// <summary>The dashboards read from <see cref="Provisioning"/> when the configuration was loaded.</summary>
    [YamlIgnore] public List<ProvisionedDashboard> Provisioned { get; set; } = [];
}

public sealed class DashboardLimitsConfig
{
    public int MaxJsonBytes { get; set; } = 2 * 1024 * 1024;
    public int MaxPanels { get; set; } = 500;
    public int MaxTargetsPerPanel { get; set; } = 26;
    public int MaxVariables { get; set; } = 50;
    public int MaxDashboards { get; set; } = 1000;

    public DashboardLimits ToLimits() => new(MaxJsonBytes, MaxPanels, MaxTargetsPerPanel, MaxVariables);
}

/// <summary>A dashboard file from a provisioning folder: its path, normalised JSON and uid.</summary>
public sealed record ProvisionedDashboard(string File, string Uid, string Title, IReadOnlyList<string> Tags, string Json);

public static class DashboardProvisioningLoader
{
    public const int MaxFiles = 500;

    /// <summary>Reads every provisioning folder; a file that does not load fails the configuration, naming the file and the field.</summary>
    public static void Load(WatchkeeperConfig c, ConfigSource source, string dir)
    {
        var d = c.Dashboards;
        var l = d.Limits;
        if (l.MaxJsonBytes is < 1024 or > 64 * 1024 * 1024) throw source.Error("dashboards.limits.max_json_bytes", "must be between 1024 and 67108864");
        if (l.MaxPanels is < 1 or > 10_000) throw source.Error("dashboards.limits.max_panels", "must be between 1 and 10000");
        if (l.MaxTargetsPerPanel is < 1 or > 100) throw source.Error("dashboards.limits.max_targets_per_panel", "must be between 1 and 100");
        if (l.MaxVariables is < 0 or > 1000) throw source.Error("dashboards.limits.max_variables", "must be between 0 and 1000");
        if (l.MaxDashboards is < 1 or > 100_000) throw source.Error("dashboards.limits.max_dashboards", "must be between 1 and 100000");
        var limits = l.ToLimits();
        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        var result = new List<ProvisionedDashboard>();
        for (var i = 0; i < d.Provisioning.Count; i++)
        {
            var key = $"dashboards.provisioning[{i}]";
            var folder = Path.GetFullPath(Path.Combine(dir, d.Provisioning[i]));
            if (!Directory.Exists(folder)) throw source.Error(key, $"folder '{d.Provisioning[i]}' not found");
            foreach (var file in Directory.GetFiles(folder, "*.json", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            {
                if (result.Count >= MaxFiles) throw source.Error(key, $"more than {MaxFiles} dashboard files");
                try
                {
                    var (json, model) = DashboardJson.Parse(File.ReadAllText(file), limits);
                    if (model.Uid.Length == 0) throw new DashboardJsonException("uid", "required in a provisioned dashboard (so links to it stay stable)");
                    if (seen.TryGetValue(model.Uid, out var other)) throw new DashboardJsonException("uid", $"'{model.Uid}' is also the uid of {other}");
                    seen[model.Uid] = file;
                    DashboardJson.Normalize(json, model.Uid, 1);
                    result.Add(new ProvisionedDashboard(file, model.Uid, model.Title, model.Tags, DashboardJson.ToText(json)));
                }
                catch (DashboardJsonException ex)
                {
                    throw new ConfigException(source.File, source.LineOf(key), key, $"dashboard file {file}: {ex.Message}");
                }
            }
        }
        d.Provisioned = result;
    }
}
