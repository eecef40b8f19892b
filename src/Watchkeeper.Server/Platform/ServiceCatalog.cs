using System.Text.RegularExpressions;

namespace Watchkeeper.Server.Platform;

/// <summary>
/// One service of the catalog (<c>services:</c> in watchkeeper.yml): what incidents name as affected, what the status
/// page shows as a component and what on-call reads the owner from. <see cref="Name"/> is the stable id (it is stored on
/// incidents); <see cref="Job"/> is the Prometheus <c>job</c> label of its targets, which ties its metrics and alerts to it.
/// </summary>
public sealed class ServiceConfig
{
    /// <summary>The id: lowercase letters, digits, '-', '_' or '.', at most 100 characters (e.g. api-service).</summary>
    public string Name { get; set; } = "";
    /// <summary>The name people read (e.g. "API service"); the id when empty.</summary>
    public string DisplayName { get; set; } = "";
    public string Description { get; set; } = "";
    /// <summary>The person who owns the service: a name from <c>people:</c>.</summary>
    public string Owner { get; set; } = "";
    /// <summary>The owning team (free text, e.g. "Platform team").</summary>
    public string Team { get; set; } = "";
    /// <summary>Criticality, 1 (most critical) to 4.</summary>
    public int Tier { get; set; } = 2;
    /// <summary>A group to show services under (e.g. "Application", "Data").</summary>
    public string Group { get; set; } = "";
    /// <summary>The <c>job</c> label of the service's targets; the name when empty.</summary>
    public string Job { get; set; } = "";
    public List<ServiceLinkConfig> Links { get; set; } = [];

    public string Title => DisplayName.Length > 0 ? DisplayName : Name;
    public string JobLabel => Job.Length > 0 ? Job : Name;
}

/// <summary>A service as the API shows it (<c>GET /api/v1/services</c>).</summary>
public sealed record ServiceView(string Name, string DisplayName, string Description, string Owner, string Team, int Tier, string Group, string Job,
    IReadOnlyList<ServiceLinkView> Links)
{
    public static ServiceView Of(ServiceConfig s) =>
        new(s.Name, s.Title, s.Description, s.Owner, s.Team, s.Tier, s.Group, s.JobLabel, s.Links.Select(l => new ServiceLinkView(l.Title, l.Url)).ToList());
}

public sealed record ServiceLinkView(string Title, string Url);

/// <summary>A link of a service: a runbook, a dashboard, a repository.</summary>
public sealed class ServiceLinkConfig
{
    public string Title { get; set; } = "";
    public string Url { get; set; } = "";
}

/// <summary>
/// The service catalog of the running configuration (it follows reloads). Incidents choose their affected services from
/// it; the status page and on-call read names, owners and jobs from it.
/// </summary>
public interface IServiceCatalog
{
    /// <summary>Every service, in configuration order.</summary>
    IReadOnlyList<ServiceConfig> All { get; }
    /// <summary>The service with this id (case-insensitive), or null.</summary>
    ServiceConfig? Find(string name);
    /// <summary>The service whose targets carry this <c>job</c> label, or null.</summary>
    ServiceConfig? ForJob(string job);
}

public sealed class ServiceCatalog(ConfigHolder config) : IServiceCatalog
{
    public IReadOnlyList<ServiceConfig> All => config.Current.Services;

    public ServiceConfig? Find(string name) =>
        config.Current.Services.FirstOrDefault(s => string.Equals(s.Name, name, StringComparison.OrdinalIgnoreCase));

    public ServiceConfig? ForJob(string job) =>
        config.Current.Services.FirstOrDefault(s => string.Equals(s.JobLabel, job, StringComparison.Ordinal));
}

/// <summary>The checks of the <c>services:</c> section.</summary>
public static partial class ServiceCatalogValidation
{
    /// <summary>An absolute http(s) URL, or a path on this server ("/query?expr=..."; never "//host").</summary>
    public static bool IsLink(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var u) && (u.Scheme == Uri.UriSchemeHttp || u.Scheme == Uri.UriSchemeHttps) && !url.Any(char.IsControl)
        || Web.WebModule.IsLocalPath(url);

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,99}$")]
    private static partial Regex Id();

    public static IEnumerable<ConfigError> Check(WatchkeeperConfig c)
    {
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var jobs = new Dictionary<string, string>(StringComparer.Ordinal);
        var people = c.People.Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        for (var i = 0; i < c.Services.Count; i++)
        {
            var s = c.Services[i];
            var k = $"services[{i}]";
            if (string.IsNullOrWhiteSpace(s.Name)) yield return new(k + ".name", "a service name is required (e.g. api-service)");
            else if (!Id().IsMatch(s.Name)) yield return new(k + ".name", $"'{s.Name}' is not a service id: use lowercase letters, digits, '-', '_' or '.' (at most 100 characters)");
            else if (!seen.Add(s.Name)) yield return new(k + ".name", $"duplicate service '{s.Name}'");
            if (s.DisplayName.Length > 100 || s.DisplayName.Any(char.IsControl)) yield return new(k + ".display_name", "must be one line of at most 100 characters");
            if (s.Description.Length > 2000) yield return new(k + ".description", "must be at most 2000 characters");
            if (s.Owner.Length > 0 && !people.Contains(s.Owner))
                yield return new(k + ".owner", $"'{s.Owner}' is not in people:; known: {(people.Count == 0 ? "none" : string.Join(", ", people.Order(StringComparer.Ordinal)))}");
            if (s.Tier is < 1 or > 4) yield return new(k + ".tier", "must be 1 (most critical) to 4");
            if (s.Name.Length > 0 && !jobs.TryAdd(s.JobLabel, s.Name))
                yield return new(k + ".job", $"job '{s.JobLabel}' already belongs to service '{jobs[s.JobLabel]}'");
            for (var j = 0; j < s.Links.Count; j++)
            {
                var l = s.Links[j];
                if (string.IsNullOrWhiteSpace(l.Title)) yield return new($"{k}.links[{j}].title", "a link title is required");
                if (!IsLink(l.Url)) yield return new($"{k}.links[{j}].url", $"'{l.Url}' is not an http(s) URL or a path on this server (/query?...)");
            }
        }
    }
}
