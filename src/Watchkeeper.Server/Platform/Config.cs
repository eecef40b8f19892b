using YamlDotNet.Serialization;

namespace Watchkeeper.Server.Platform;

/// <summary>
/// The whole <c>watchkeeper.yml</c> as one typed tree, bound once by <see cref="ConfigLoader"/> from the parsed YAML.
/// Only what the product implements has a property here: any other key is an error (see <see cref="ConfigLoader.NotImplemented"/>).
/// Each section is also registered as Options (<c>IOptions&lt;T&gt;</c>, <c>IOptionsMonitor&lt;T&gt;</c>, see <see cref="ConfigOptions"/>).
/// </summary>
public sealed class WatchkeeperConfig
{
    // Watchkeeper's own sections. The Prometheus sections (global, scrape_configs, remote_write) are bound by the
    // metrics engine's binder into Metrics, from the same parsed document.
    public List<SeverityConfig> Severities { get; set; } = [];
    public IncidentsConfig Incidents { get; set; } = new();
    public StorageConfig Storage { get; set; } = new();
    public LimitsConfig Limits { get; set; } = new();
    public AuthConfig Auth { get; set; } = new();
    public AuditConfig Audit { get; set; } = new();
    public ServerOptions Server { get; set; } = new();
    public DemoConfig Demo { get; set; } = new();
    public HostMetricsConfig HostMetrics { get; set; } = new();
    public Notifications.NotificationsConfig Notifications { get; set; } = new();
    /// <summary>Dashboards provisioned from folders of Grafana JSON, and limits (Dashboards/DashboardsConfig.cs).</summary>
    public Dashboards.DashboardsConfig Dashboards { get; set; } = new();
    /// <summary>Health checks (Probes/ProbesConfig.cs) and availability roll-ups (Uptime/UptimeRollup.cs).</summary>
    public Probes.ProbesConfig Probes { get; set; } = new();
    public Uptime.UptimeConfig Uptime { get; set; } = new();
    /// <summary>Backups of Watchkeeper's own data (Backups/) and recurring operations tasks (Tasks/).</summary>
    public Backups.BackupsConfig Backups { get; set; } = new();

    /// <summary>Prometheus rule files (globs relative to this file); loaded into <see cref="RuleFileDefs"/>.</summary>
    public List<string> RuleFiles { get; set; } = [];
    public Rules.RulesConfig Rules { get; set; } = new();
    public Rules.QuerySourceConfig? QuerySource { get; set; }
    public Rules.AlertingConfig Alerting { get; set; } = new();
    [YamlIgnore] public List<Watchkeeper.Metrics.Rules.RuleFileDef> RuleFileDefs { get; set; } = [];

    // On-call and escalation (OnCall/OnCallConfig.cs): people and their contact methods, schedules, policies.
    public List<OnCall.PersonConfig> People { get; set; } = [];
    public List<OnCall.ScheduleConfig> Schedules { get; set; } = [];
    public List<OnCall.EscalationPolicyConfig> EscalationPolicies { get; set; } = [];
    public OnCall.OnCallConfig Oncall { get; set; } = new();

    /// <summary>Maintenance windows and runs (Maintenance/MaintenanceConfig.cs).</summary>
    public Maintenance.MaintenanceConfig Maintenance { get; set; } = new();

    /// <summary>The public status page (StatusPage/StatusPageConfig.cs).</summary>
    public Watchkeeper.Server.StatusPage.StatusPageConfig StatusPage { get; set; } = new();

    /// <summary>The service catalog (Platform/ServiceCatalog.cs): what incidents, the status page and on-call name as services.</summary>
    public List<ServiceConfig> Services { get; set; } = [];

    /// <summary>Scrape Watchkeeper's own /metrics as job "watchkeeper".</summary>
    public bool SelfScrape { get; set; } = true;

    /// <summary>Checklists and templates loaded from the files the incidents section names.</summary>
    [YamlIgnore] public Dictionary<string, Checklist> Checklists { get; set; } = new(StringComparer.OrdinalIgnoreCase);
    [YamlIgnore] public string StatusUpdateTemplate { get; set; } = "";
    [YamlIgnore] public string SourcePath { get; set; } = "";
    /// <summary>The file's text as loaded (shown redacted on the configuration page).</summary>
    [YamlIgnore] public string Text { get; set; } = "";

    /// <summary>Where each key is in the file, for errors found after binding.</summary>
    [YamlIgnore] public ConfigSource Source { get; set; } = new("watchkeeper.yml", null);

    /// <summary>The Prometheus sections (global, scrape_configs, remote_write) bound by the metrics engine.</summary>
    [YamlIgnore] public Watchkeeper.Metrics.Scrape.MetricsConfig Metrics { get; set; } = new();
    /// <summary>Alertmanager's sections (route, receivers, inhibit_rules, time_intervals, templates, alertmanager.global) or alertmanager_config_file.</summary>
    [YamlIgnore] public Watchkeeper.Alerting.Config.AlertmanagerConfig Alertmanager { get; set; } = new();

    public SeverityConfig? Severity(string id) =>
        Severities.FirstOrDefault(s => string.Equals(s.Id, id, StringComparison.OrdinalIgnoreCase));
}

public sealed class SeverityConfig
{
    public string Id { get; set; } = "";
    public string Name { get; set; } = "";
    public string Impact { get; set; } = "";
    public string UsersAffected { get; set; } = "";
    public string BusinessImpact { get; set; } = "";
    public string ResponseTarget { get; set; } = "";
    public string ResolutionTarget { get; set; } = "";
    public Duration ResponseTime { get; set; }
    public Duration ResolutionTime { get; set; }
    public Duration UpdateInterval { get; set; } = new(TimeSpan.FromHours(1));
    public List<string> Escalation { get; set; } = [];
}

public sealed class IncidentsConfig
{
    /// <summary>Checklist files by incident kind (operational, security), relative to the config file.</summary>
    public Dictionary<string, string> Checklists { get; set; } = [];
    public string StatusUpdateTemplate { get; set; } = "";
    public string Contact { get; set; } = "";
    public Duration SlaCheckInterval { get; set; } = new(TimeSpan.FromSeconds(15));
    /// <summary>Incidents declared from firing alerts (operations manual 2.2: detection opens the response).</summary>
    public AlertIncidentsConfig FromAlerts { get; set; } = new();
}

/// <summary>
/// Which firing alerts declare an incident and at what severity (the first rule whose matchers all match wins; an
/// alert no rule matches declares nothing), how alerts are grouped into one incident, and the checklist item that
/// acknowledging the incident completes.
/// </summary>
public sealed class AlertIncidentsConfig
{
    public bool Enabled { get; set; } = true;
    /// <summary>Alerts with the same values of these labels join one open incident.</summary>
    public List<string> GroupBy { get; set; } = ["alertname", "job"];
    public List<AlertIncidentRule> Rules { get; set; } = [];
    /// <summary>How often firing alerts are compared with the incidents they opened.</summary>
    public Duration Interval { get; set; } = new(TimeSpan.FromSeconds(15));
    /// <summary>The checklist item ticked when someone acknowledges an incident that alerts opened ("" for none).</summary>
    public string AcknowledgeItem { get; set; } = "Acknowledge incident alert";
}

public sealed class AlertIncidentRule
{
    /// <summary>Alertmanager matchers (<c>alertname="ServiceDown"</c>, <c>severity=~"critical|page"</c>); all must match.</summary>
    public List<string> Matchers { get; set; } = [];
    public string Severity { get; set; } = "";
}

public sealed class StorageConfig
{
    public PostgresConfig? Postgres { get; set; }
    public TsdbConfig Tsdb { get; set; } = new();
}

/// <summary>The embedded time-series store and query limits.</summary>
public sealed class TsdbConfig
{
    public Duration Retention { get; set; } = new(TimeSpan.FromDays(15));
    /// <summary>Size retention in bytes for persistent blocks; 0 means no size limit.</summary>
    public long MaxBytes { get; set; }
    public Duration LookbackDelta { get; set; } = new(TimeSpan.FromMinutes(5));
    public Duration QueryTimeout { get; set; } = new(TimeSpan.FromMinutes(2));
    public long QueryMaxSamples { get; set; } = 50_000_000;
    /// <summary>Queries evaluated at once (Prometheus's --query.max-concurrency); more wait in a queue within their timeout.</summary>
    public int QueryMaxConcurrency { get; set; } = 20;
}

/// <summary>
/// Ingest limits for every path into the TSDB (scrapes, remote write), with Mimir's names. Zero disables a limit.
/// The TSDB reads the series and time limits at start; the remote write body limits apply to each request.
/// </summary>
public sealed class LimitsConfig
{
    public int MaxLabelNamesPerSeries { get; set; } = 30;
    public int MaxLabelNameLength { get; set; } = 1024;
    public int MaxLabelValueLength { get; set; } = 2048;
    public long MaxHeadSeries { get; set; } = 2_000_000;
    /// <summary>Samples later than now plus this are refused (Mimir's creation_grace_period).</summary>
    public Duration CreationGracePeriod { get; set; } = new(TimeSpan.FromMinutes(10));
    /// <summary>Samples earlier than now minus this are refused; 0 (the default) means storage.tsdb.retention.</summary>
    public Duration PastGracePeriod { get; set; } = new(TimeSpan.Zero);
    public long RemoteWriteMaxBodyBytes { get; set; } = 8L << 20;
    public long RemoteWriteMaxDecompressedBytes { get; set; } = 32L << 20;

    public Watchkeeper.Metrics.Model.IngestLimits Series() => new()
    {
        MaxLabelNamesPerSeries = MaxLabelNamesPerSeries,
        MaxLabelNameLength = MaxLabelNameLength,
        MaxLabelValueLength = MaxLabelValueLength,
        MaxHeadSeries = MaxHeadSeries,
    };

    public Watchkeeper.Metrics.RemoteWrite.RemoteWriteLimits RemoteWrite() => new()
    {
        MaxBodyBytes = RemoteWriteMaxBodyBytes,
        MaxDecompressedBytes = RemoteWriteMaxDecompressedBytes,
        Series = Series(),
    };
}

/// <summary>Simulated services (api-service, web-interface) so the query pages and targets have data on a first run.</summary>
public sealed class DemoConfig
{
    public bool Enabled { get; set; }
    public List<string> Services { get; set; } = ["api-service", "web-interface"];
}

/// <summary>The built-in host collector (node_exporter's metric names, read from /proc).</summary>
public sealed class HostMetricsConfig
{
    public bool Enabled { get; set; } = true;
}

public sealed class PostgresConfig
{
    public string ConnectionString { get; set; } = "";
    /// <summary>How often the leader lease is renewed (and a follower tries to take it): the longest a dead leader goes unreplaced.</summary>
    public Duration LeaseInterval { get; set; } = new(TimeSpan.FromSeconds(5));
}

public sealed class AuthConfig
{
    /// <summary>Idle limit: a session unused this long ends (sliding).</summary>
    public Duration SessionLifetime { get; set; } = new(TimeSpan.FromHours(12));
    /// <summary>Absolute limit: a session ends this long after login however much it is used.</summary>
    public Duration SessionAbsoluteLifetime { get; set; } = new(TimeSpan.FromDays(7));
    /// <summary>Failed logins allowed per client address in any minute.</summary>
    public int LoginAttemptsPerMinute { get; set; } = 10;
    /// <summary>Consecutive failures for one user name (any clients) before each attempt must wait.</summary>
    public int LoginUserBackoffAfter { get; set; } = 20;
    /// <summary>The longest wait between attempts for one user name.</summary>
    public Duration LoginUserBackoffMax { get; set; } = new(TimeSpan.FromMinutes(15));
}

public sealed class AuditConfig
{
    /// <summary>A signed checkpoint is written after this many records (and by the periodic worker).</summary>
    public int CheckpointEvery { get; set; } = 100;
    public Duration CheckpointInterval { get; set; } = new(TimeSpan.FromMinutes(5));
}

/// <summary>A checklist: phases, each with a time target relative to detection, each with items.</summary>
public sealed record Checklist(string Name, IReadOnlyList<ChecklistPhase> Phases);

public sealed record ChecklistPhase(string Key, string Title, TimeSpan Start, TimeSpan Due, IReadOnlyList<string> Items);
