using System.Globalization;
using System.Text;
using Watchkeeper.Metrics.Model;
using Watchkeeper.Metrics.Relabel;

namespace Watchkeeper.Metrics.Scrape;

public enum TargetHealth { Unknown, Up, Down }

/// <summary>A target after relabeling: what is scraped and the labels its series get.</summary>
public sealed record ScrapeTarget(string Job, Uri Url, Labels Labels, Labels DiscoveredLabels, TimeSpan Interval, TimeSpan Timeout)
{
    /// <summary>Identity of the target across discovery refreshes and reloads.</summary>
    public string Key { get; } = Url + "|" + Labels;

    /// <summary>A stable 64-bit hash of the target (FNV-1a over its key): the same across restarts.</summary>
    public ulong Hash { get; } = Fnv1a(Url + "|" + Labels);

    /// <summary>Where in each interval this target is scraped, so targets spread evenly and deterministically.</summary>
    public TimeSpan Offset(TimeSpan interval) =>
        interval <= TimeSpan.Zero ? TimeSpan.Zero : TimeSpan.FromTicks((long)(Hash % (ulong)interval.Ticks));

    private static ulong Fnv1a(string s)
    {
        var h = 14695981039346656037UL;
        foreach (var b in Encoding.UTF8.GetBytes(s))
        {
            h ^= b;
            h *= 1099511628211UL;
        }
        return h;
    }
}

/// <summary>A discovered target that relabeling dropped (or that was invalid), for the targets API.</summary>
public sealed record DroppedTarget(string Job, Labels DiscoveredLabels, string Reason);

/// <summary>A snapshot of one target's scrape state for a targets page or API.</summary>
public sealed record TargetState
{
    public required ScrapeTarget Target { get; init; }
    public TargetHealth Health { get; init; } = TargetHealth.Unknown;
    public DateTimeOffset? LastScrape { get; init; }
    public TimeSpan LastScrapeDuration { get; init; }
    public string? LastError { get; init; }
    public int LastSamples { get; init; }
    public string Job => Target.Job;
    public Uri ScrapeUrl => Target.Url;
    public Labels Labels => Target.Labels;
    public Labels DiscoveredLabels => Target.DiscoveredLabels;
}

/// <summary>Turns discovered target groups into scrape targets the way Prometheus does.</summary>
public static class TargetBuilder
{
    public const string AddressLabel = "__address__";
    public const string SchemeLabel = "__scheme__";
    public const string MetricsPathLabel = "__metrics_path__";
    public const string ScrapeIntervalLabel = "__scrape_interval__";
    public const string ScrapeTimeoutLabel = "__scrape_timeout__";
    public const string ParamPrefix = "__param_";

    public static (List<ScrapeTarget> Active, List<DroppedTarget> Dropped) Build(ScrapeConfig cfg, IEnumerable<TargetGroup> groups)
    {
        var active = new List<ScrapeTarget>();
        var dropped = new List<DroppedTarget>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var b = new LabelsBuilder();
        foreach (var g in groups)
        {
            foreach (var addr in g.Targets)
            {
                b.Clear();
                foreach (var (k, v) in g.Labels) b.Set(k, v);
                b.Set(AddressLabel, addr);
                SetDefault(b, "job", cfg.JobName);
                SetDefault(b, ScrapeIntervalLabel, PromDuration.Format(cfg.ScrapeInterval));
                SetDefault(b, ScrapeTimeoutLabel, PromDuration.Format(cfg.ScrapeTimeout));
                SetDefault(b, MetricsPathLabel, cfg.MetricsPath);
                SetDefault(b, SchemeLabel, cfg.Scheme);
                foreach (var (k, v) in cfg.Params)
                    if (v.Count > 0) SetDefault(b, ParamPrefix + k, v[0]);
                var discovered = b.ToLabels();
                if (!Relabeler.Process(b, cfg.RelabelConfigs))
                {
                    dropped.Add(new DroppedTarget(cfg.JobName, discovered, "dropped by relabeling"));
                    continue;
                }
                var t = Finish(cfg, b, discovered, out var reason);
                if (t is null)
                {
                    dropped.Add(new DroppedTarget(cfg.JobName, discovered, reason!));
                    continue;
                }
                if (seen.Add(t.Key)) active.Add(t);
            }
        }
        return (active, dropped);
    }

    private static void SetDefault(LabelsBuilder b, string name, string value)
    {
        if (string.IsNullOrEmpty(b.Get(name))) b.Set(name, value);
    }

    private static ScrapeTarget? Finish(ScrapeConfig cfg, LabelsBuilder b, Labels discovered, out string? reason)
    {
        reason = null;
        var addr = b.Get(AddressLabel);
        if (string.IsNullOrEmpty(addr))
        {
            reason = "no address";
            return null;
        }
        if (addr.Contains('/', StringComparison.Ordinal))
        {
            reason = $"invalid address \"{addr}\"";
            return null;
        }
        var interval = cfg.ScrapeInterval;
        var timeout = cfg.ScrapeTimeout;
        if (b.Get(ScrapeIntervalLabel) is { } si && !PromDuration.TryParse(si, out interval) || interval <= TimeSpan.Zero)
        {
            reason = "invalid __scrape_interval__";
            return null;
        }
        if (b.Get(ScrapeTimeoutLabel) is { } st && !PromDuration.TryParse(st, out timeout) || timeout <= TimeSpan.Zero)
        {
            reason = "invalid __scrape_timeout__";
            return null;
        }
        if (timeout > interval)
        {
            reason = "scrape timeout greater than scrape interval";
            return null;
        }
        var scheme = b.Get(SchemeLabel) ?? cfg.Scheme;
        var path = b.Get(MetricsPathLabel) ?? cfg.MetricsPath;
        var query = new StringBuilder();
        var paramNames = new SortedSet<string>(cfg.Params.Keys, StringComparer.Ordinal);
        foreach (var l in b.Snapshot())
            if (l.Name.StartsWith(ParamPrefix, StringComparison.Ordinal)) paramNames.Add(l.Name[ParamPrefix.Length..]);
        foreach (var name in paramNames)
        {
            var values = cfg.Params.TryGetValue(name, out var v) ? v.ToList() : [];
            if (b.Get(ParamPrefix + name) is { } over)
            {
                if (values.Count == 0) values.Add(over);
                else values[0] = over;
            }
            foreach (var value in values)
            {
                query.Append(query.Length == 0 ? '?' : '&').Append(Uri.EscapeDataString(name)).Append('=').Append(Uri.EscapeDataString(value));
            }
        }
        if (!path.StartsWith('/')) path = "/" + path;
        if (!Uri.TryCreate($"{scheme}://{addr}{path}{query}", UriKind.Absolute, out var url))
        {
            reason = $"invalid URL from address \"{addr}\"";
            return null;
        }
        if (string.IsNullOrEmpty(b.Get("instance"))) b.Set("instance", addr);
        b.DeletePrefix("__");
        return new ScrapeTarget(cfg.JobName, url, b.ToLabels(), discovered, interval, timeout);
    }

    internal static string FormatSeconds(TimeSpan d) => d.TotalSeconds.ToString(CultureInfo.InvariantCulture);
}
