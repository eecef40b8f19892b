using Watchkeeper.Metrics.Model;
using Watchkeeper.Metrics.Relabel;

namespace Watchkeeper.Metrics.Scrape;

/// <summary>The metrics-related sections of the configuration: <c>global</c>, <c>scrape_configs</c>, <c>remote_write</c>.</summary>
public sealed record MetricsConfig
{
    public GlobalConfig Global { get; init; } = new();
    public IReadOnlyList<ScrapeConfig> ScrapeConfigs { get; init; } = [];
    public IReadOnlyList<RemoteWriteConfig> RemoteWrite { get; init; } = [];
}

/// <summary>The Prometheus <c>global</c> section (the parts that concern scraping).</summary>
public sealed record GlobalConfig
{
    public TimeSpan ScrapeInterval { get; init; } = TimeSpan.FromMinutes(1);
    public TimeSpan ScrapeTimeout { get; init; } = TimeSpan.FromSeconds(10);
    public TimeSpan EvaluationInterval { get; init; } = TimeSpan.FromMinutes(1);
    /// <summary>Prometheus 3's <c>rule_query_offset</c>: how far back rule groups without their own <c>query_offset</c> query.</summary>
    public TimeSpan RuleQueryOffset { get; init; }
    public Labels ExternalLabels { get; init; } = Labels.Empty;
    /// <summary>Defaults for the scrape configs' limits of the same names (0: no limit).</summary>
    public int SampleLimit { get; init; }
    public int LabelLimit { get; init; }
    public int LabelNameLengthLimit { get; init; }
    public int LabelValueLengthLimit { get; init; }
    public long BodySizeLimit { get; init; }
}

/// <summary>One <c>scrape_configs</c> entry, with defaults already filled in from <c>global</c>.</summary>
public sealed record ScrapeConfig
{
    public required string JobName { get; init; }
    public TimeSpan ScrapeInterval { get; init; } = TimeSpan.FromMinutes(1);
    public TimeSpan ScrapeTimeout { get; init; } = TimeSpan.FromSeconds(10);
    public string MetricsPath { get; init; } = "/metrics";
    public string Scheme { get; init; } = "http";
    public IReadOnlyDictionary<string, IReadOnlyList<string>> Params { get; init; } = new Dictionary<string, IReadOnlyList<string>>();
    public IReadOnlyList<TargetGroup> StaticConfigs { get; init; } = [];
    public IReadOnlyList<FileSdConfig> FileSdConfigs { get; init; } = [];
    public HttpClientConfig Http { get; init; } = new();
    public bool HonorLabels { get; init; }
    public bool HonorTimestamps { get; init; } = true;
    public IReadOnlyList<RelabelRule> RelabelConfigs { get; init; } = [];
    public IReadOnlyList<RelabelRule> MetricRelabelConfigs { get; init; } = [];
    /// <summary>Maximum samples after metric relabeling; 0 means no limit. A scrape above it fails.</summary>
    public int SampleLimit { get; init; }
    /// <summary>Maximum response body size in bytes; 0 means no limit.</summary>
    public long BodySizeLimit { get; init; }
    /// <summary>Maximum labels per series after metric relabeling (<c>label_limit</c>); 0 means no limit. A scrape above it fails.</summary>
    public int LabelLimit { get; init; }
    /// <summary>Maximum bytes of a label name after metric relabeling (<c>label_name_length_limit</c>); 0 means no limit.</summary>
    public int LabelNameLengthLimit { get; init; }
    /// <summary>Maximum bytes of a label value after metric relabeling (<c>label_value_length_limit</c>); 0 means no limit.</summary>
    public int LabelValueLengthLimit { get; init; }
}

/// <summary>A group of targets sharing labels, from a static config or a file_sd file.</summary>
public sealed record TargetGroup(IReadOnlyList<string> Targets, IReadOnlyDictionary<string, string> Labels, string Source);

public sealed record FileSdConfig(IReadOnlyList<string> Files, TimeSpan RefreshInterval);

/// <summary>Authentication and TLS for an HTTP client (scraping or remote write). Paths are absolute.</summary>
public sealed record HttpClientConfig
{
    public BasicAuthConfig? BasicAuth { get; init; }
    public AuthorizationConfig? Authorization { get; init; }
    public TlsConfig Tls { get; init; } = new();
    public bool FollowRedirects { get; init; } = true;
}

public sealed record BasicAuthConfig(string Username, string? Password, string? PasswordFile);

/// <summary>An Authorization header: type (default Bearer) and credentials, inline or from a file (re-read per request).</summary>
public sealed record AuthorizationConfig(string Type, string? Credentials, string? CredentialsFile);

public sealed record TlsConfig
{
    public string? CaFile { get; init; }
    public string? CertFile { get; init; }
    public string? KeyFile { get; init; }
    public string? ServerName { get; init; }
    public bool InsecureSkipVerify { get; init; }
}

/// <summary>One <c>remote_write</c> entry.</summary>
public sealed record RemoteWriteConfig
{
    public required Uri Url { get; init; }
    public string Name { get; init; } = "";
    public TimeSpan RemoteTimeout { get; init; } = TimeSpan.FromSeconds(30);
    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>();
    public IReadOnlyList<RelabelRule> WriteRelabelConfigs { get; init; } = [];
    public HttpClientConfig Http { get; init; } = new();
    public QueueConfig Queue { get; init; } = new();
}

public sealed record QueueConfig
{
    /// <summary>Samples buffered per shard before new ones are dropped.</summary>
    public int Capacity { get; init; } = 10_000;
    public int MaxShards { get; init; } = 4;
    public int MinShards { get; init; } = 1;
    public int MaxSamplesPerSend { get; init; } = 2_000;
    public TimeSpan BatchSendDeadline { get; init; } = TimeSpan.FromSeconds(5);
    public TimeSpan MinBackoff { get; init; } = TimeSpan.FromMilliseconds(30);
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(5);
    public bool RetryOnHttp429 { get; init; } = true;
    /// <summary>Attempts per batch before it is dropped; 0 retries until shutdown.</summary>
    public int MaxRetries { get; init; }
}
