using System.Reflection;
using Microsoft.Extensions.Options;
using Watchkeeper.Metrics.Configuration;
using Microsoft.Extensions.Primitives;

namespace Watchkeeper.Server.Platform;

/// <summary>A problem with a bound value: the full key path and what is wrong. The file and line come from <see cref="ConfigSource"/>.</summary>
public sealed record ConfigError(string Key, string Problem);

/// <summary>
/// The sections of <c>watchkeeper.yml</c> as Options: each section of the one typed tree is registered as
/// <c>IOptions&lt;T&gt;</c> / <c>IOptionsMonitor&lt;T&gt;</c> (refreshed when a reload succeeds), with an
/// <see cref="IValidateOptions{TOptions}"/> whose messages name file, line and key, validated on start.
/// The loader runs the same checks before it accepts a file, so a reload that would fail them keeps the running config.
/// </summary>
public static class ConfigOptions
{
    public static readonly IReadOnlyList<IConfigSection> Sections =
    [
        new ConfigSection<WatchkeeperConfig>(c => c, Root),
        new ConfigSection<IncidentsConfig>(c => c.Incidents, Incidents),
        new ConfigSection<StorageConfig>(c => c.Storage, Storage),
        new ConfigSection<AuthConfig>(c => c.Auth, Auth),
        new ConfigSection<ServerOptions>(c => c.Server, Server),
        new ConfigSection<LimitsConfig>(c => c.Limits, Limits),
        new ConfigSection<AuditConfig>(c => c.Audit, Audit),
        new ConfigSection<DemoConfig>(c => c.Demo, Demo),
        new ConfigSection<HostMetricsConfig>(c => c.HostMetrics, _ => []),
        new ConfigSection<Notifications.NotificationsConfig>(c => c.Notifications, (n, _) => Notifications.NotificationsConfig.Check(n)),
        new ConfigSection<OnCall.OnCallConfig>(c => c.Oncall, (_, c) => OnCall.OnCallModel.Check(c)),
        new ConfigSection<Probes.ProbesConfig>(c => c.Probes, Probes.ProbesConfigCheck.Check),
        new ConfigSection<Uptime.UptimeConfig>(c => c.Uptime, Uptime.UptimeConfig.Check),
        new ConfigSection<Watchkeeper.Server.StatusPage.StatusPageConfig>(c => c.StatusPage, Watchkeeper.Server.StatusPage.StatusPageConfig.Check),
        new ConfigSection<Maintenance.MaintenanceConfig>(c => c.Maintenance, Maintenance.MaintenanceConfig.Check),
        new ConfigSection<Backups.BackupsConfig>(c => c.Backups, Backups.BackupsConfig.Check),
    ];

    /// <summary>Registers every section as validated Options bound from <see cref="ConfigHolder.Current"/>.</summary>
    public static IServiceCollection AddConfigOptions(this IServiceCollection services)
    {
        foreach (var s in Sections) s.Register(services);
        return services;
    }

    /// <summary>Every problem the section checks find in a bound configuration, in section order.</summary>
    public static IEnumerable<ConfigError> Check(WatchkeeperConfig c) => Sections.SelectMany(s => s.Check(c));

    private static IEnumerable<ConfigError> Root(WatchkeeperConfig c)
    {
        if (c.Severities.Count == 0) yield return new("severities", "at least one severity is required (e.g. SEV1-SEV4)");
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < c.Severities.Count; i++)
        {
            var s = c.Severities[i];
            var k = $"severities[{i}]";
            if (string.IsNullOrWhiteSpace(s.Id)) yield return new(k + ".id", "severity id is required");
            else if (!seen.Add(s.Id)) yield return new(k + ".id", $"duplicate severity id '{s.Id}'");
            if (s.ResponseTime.Value <= TimeSpan.Zero) yield return new(k + ".response_time", "must be a positive duration");
            if (s.ResolutionTime.Value <= TimeSpan.Zero) yield return new(k + ".resolution_time", "must be a positive duration");
            else if (s.ResolutionTime.Value < s.ResponseTime.Value) yield return new(k + ".resolution_time", "must not be shorter than response_time");
            if (s.UpdateInterval.Value <= TimeSpan.Zero) yield return new(k + ".update_interval", "must be a positive duration");
        }
        var rules = c.Incidents.FromAlerts.Rules;
        for (var i = 0; i < rules.Count; i++)
            if (!string.IsNullOrWhiteSpace(rules[i].Severity) && c.Severity(rules[i].Severity) is null)
                yield return new($"incidents.from_alerts.rules[{i}].severity", $"unknown severity '{rules[i].Severity}'; known: {string.Join(", ", c.Severities.Select(x => x.Id))}");
        foreach (var e in ServiceCatalogValidation.Check(c)) yield return e;
    }

    private static IEnumerable<ConfigError> Incidents(IncidentsConfig c)
    {
        if (!c.Checklists.ContainsKey("operational")) yield return new("incidents.checklists", "an 'operational' checklist is required");
        if (string.IsNullOrWhiteSpace(c.StatusUpdateTemplate)) yield return new("incidents.status_update_template", "a status update template file is required");
        if (c.SlaCheckInterval.Value <= TimeSpan.Zero) yield return new("incidents.sla_check_interval", "must be a positive duration");
        var a = c.FromAlerts;
        if (a.Interval.Value <= TimeSpan.Zero) yield return new("incidents.from_alerts.interval", "must be a positive duration");
        if (a.GroupBy.Count == 0) yield return new("incidents.from_alerts.group_by", "name at least one label (e.g. alertname)");
        for (var i = 0; i < a.Rules.Count; i++)
        {
            var k = $"incidents.from_alerts.rules[{i}]";
            if (a.Rules[i].Matchers.Count == 0) yield return new(k + ".matchers", "at least one matcher is required (e.g. 'alertname=\"ServiceDown\"')");
            for (var j = 0; j < a.Rules[i].Matchers.Count; j++)
            {
                string? error = null;
                try { Watchkeeper.Alerting.Routing.MatcherParser.ParseList(a.Rules[i].Matchers[j]); }
                catch (FormatException ex) { error = ex.Message; }
                if (error is not null) yield return new($"{k}.matchers[{j}]", "not a matcher: " + error);
            }
            if (string.IsNullOrWhiteSpace(a.Rules[i].Severity)) yield return new(k + ".severity", "a severity id is required (e.g. SEV2)");
        }
    }

    private static IEnumerable<ConfigError> Storage(StorageConfig c)
    {
        if (c.Postgres is { } pg && string.IsNullOrWhiteSpace(pg.ConnectionString))
            yield return new("storage.postgres.connection_string", "must be set when storage.postgres is present");
        if (c.Postgres is { } lease && (lease.LeaseInterval.Value < TimeSpan.FromSeconds(1) || lease.LeaseInterval.Value > TimeSpan.FromMinutes(1)))
            yield return new("storage.postgres.lease_interval", "must be between 1s and 1m");
        if (c.Tsdb.Retention.Value <= TimeSpan.Zero) yield return new("storage.tsdb.retention", "must be a positive duration");
        if (c.Tsdb.MaxBytes < 0) yield return new("storage.tsdb.max_bytes", "must not be negative");
        if (c.Tsdb.LookbackDelta.Value <= TimeSpan.Zero) yield return new("storage.tsdb.lookback_delta", "must be a positive duration");
        if (c.Tsdb.QueryTimeout.Value <= TimeSpan.Zero) yield return new("storage.tsdb.query_timeout", "must be a positive duration");
        if (c.Tsdb.QueryMaxSamples <= 0) yield return new("storage.tsdb.query_max_samples", "must be positive");
        if (c.Tsdb.QueryMaxConcurrency <= 0) yield return new("storage.tsdb.query_max_concurrency", "must be positive");
    }

    private static IEnumerable<ConfigError> Auth(AuthConfig c)
    {
        if (c.SessionLifetime.Value <= TimeSpan.Zero) yield return new("auth.session_lifetime", "must be a positive duration");
        if (c.LoginAttemptsPerMinute <= 0) yield return new("auth.login_attempts_per_minute", "must be positive");
        if (c.SessionAbsoluteLifetime.Value < c.SessionLifetime.Value) yield return new("auth.session_absolute_lifetime", "must not be shorter than session_lifetime");
        if (c.LoginUserBackoffAfter <= 0) yield return new("auth.login_user_backoff_after", "must be positive");
        if (c.LoginUserBackoffMax.Value < TimeSpan.FromSeconds(1)) yield return new("auth.login_user_backoff_max", "must be at least 1s");
    }

    /// <summary>The server section validates itself (and resolves its TLS files against the config file's folder).</summary>
    private static List<ConfigError> Server(ServerOptions o, WatchkeeperConfig c)
    {
        // Stop at the first problem: later checks (loading the certificate) assume the earlier ones passed.
        try
        {
            o.Validate((key, problem) => throw new ConfigException(c.SourcePath, 0, key, problem), Path.GetDirectoryName(c.SourcePath) ?? ".");
            return [];
        }
        catch (ConfigException ex)
        {
            return [new(ex.Key, ex.Problem)];
        }
    }

    private static IEnumerable<ConfigError> Limits(LimitsConfig l)
    {
        if (l.MaxLabelNamesPerSeries < 0) yield return new("limits.max_label_names_per_series", "must not be negative");
        if (l.MaxLabelNameLength < 0) yield return new("limits.max_label_name_length", "must not be negative");
        if (l.MaxLabelValueLength < 0) yield return new("limits.max_label_value_length", "must not be negative");
        if (l.MaxHeadSeries < 0) yield return new("limits.max_head_series", "must not be negative");
        if (l.CreationGracePeriod.Value < TimeSpan.Zero) yield return new("limits.creation_grace_period", "must not be negative");
        if (l.PastGracePeriod.Value < TimeSpan.Zero) yield return new("limits.past_grace_period", "must not be negative");
        if (l.RemoteWriteMaxBodyBytes < 0) yield return new("limits.remote_write_max_body_bytes", "must not be negative");
        if (l.RemoteWriteMaxDecompressedBytes < 0) yield return new("limits.remote_write_max_decompressed_bytes", "must not be negative");
    }

    private static IEnumerable<ConfigError> Audit(AuditConfig c)
    {
        if (c.CheckpointEvery <= 0) yield return new("audit.checkpoint_every", "must be positive");
        if (c.CheckpointInterval.Value <= TimeSpan.Zero) yield return new("audit.checkpoint_interval", "must be a positive duration");
    }

    private static IEnumerable<ConfigError> Demo(DemoConfig c)
    {
        for (var i = 0; i < c.Services.Count; i++)
        {
            var s = c.Services[i];
            if (s is not ("api-service" or "web-interface"))
                yield return new($"demo.services[{i}]", $"'{s}' is not a demo service; the demo simulates api-service and web-interface");
        }
    }
}

/// <summary>One section of the typed tree registered as Options.</summary>
public interface IConfigSection
{
    IEnumerable<ConfigError> Check(WatchkeeperConfig config);
    void Register(IServiceCollection services);
}

public sealed class ConfigSection<T>(Func<WatchkeeperConfig, T> select, Func<T, WatchkeeperConfig, IEnumerable<ConfigError>> check) : IConfigSection
    where T : class, new()
{
    /// <summary>A section whose checks need only the section itself.</summary>
    public ConfigSection(Func<WatchkeeperConfig, T> select, Func<T, IEnumerable<ConfigError>> check) : this(select, (o, _) => check(o))
    {
    }

    public IEnumerable<ConfigError> Check(WatchkeeperConfig config) => check(select(config), config);

    public void Register(IServiceCollection services)
    {
        services.AddSingleton<IOptionsChangeTokenSource<T>>(sp => new ConfigChangeTokenSource<T>(sp.GetRequiredService<ConfigHolder>()));
        services.AddSingleton<IValidateOptions<T>>(sp => new SectionValidator(sp.GetRequiredService<ConfigHolder>(), check));
        services.AddOptions<T>().Configure<ConfigHolder>((o, holder) => CopyInto(select(holder.Current), o)).ValidateOnStart();
    }

    private static readonly PropertyInfo[] Copied =
        [.. typeof(T).GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanRead && p.CanWrite && p.GetIndexParameters().Length == 0)];

    private static void CopyInto(T from, T to)
    {
        foreach (var p in Copied) p.SetValue(to, p.GetValue(from));
    }

    /// <summary>Validates a section; failures read <c>file:line:key: problem</c> with the line from the running file.</summary>
    private sealed class SectionValidator(ConfigHolder holder, Func<T, WatchkeeperConfig, IEnumerable<ConfigError>> check) : IValidateOptions<T>
    {
        public ValidateOptionsResult Validate(string? name, T options)
        {
            var current = holder.Current;
            var failures = check(options, current).Select(e => current.Source.Describe(e.Key, e.Problem)).ToList();
            return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
        }
    }
}

/// <summary>Signals <c>IOptionsMonitor&lt;T&gt;</c> to rebind after a successful reload.</summary>
public sealed class ConfigChangeTokenSource<T>(ConfigHolder holder) : IOptionsChangeTokenSource<T>
{
    public string? Name => Options.DefaultName;
    public IChangeToken GetChangeToken() => holder.GetReloadToken();
}
