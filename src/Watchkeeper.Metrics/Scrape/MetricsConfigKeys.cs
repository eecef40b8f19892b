namespace Watchkeeper.Metrics.Scrape;

public static partial class MetricsConfigLoader
{
    private static readonly string[] HttpKeys = ["basic_auth", "authorization", "bearer_token", "bearer_token_file", "tls_config", "follow_redirects"];

    /// <summary>The keys valid in the mapping at <paramref name="path"/>, for "did you mean" suggestions on an unknown key.</summary>
    private static IEnumerable<string> KeysAt(string path)
    {
        var last = path[(path.LastIndexOf('.') + 1)..];
        return last switch
        {
            "global" => ["scrape_interval", "scrape_timeout", "evaluation_interval", "external_labels"],
            _ when last.StartsWith("scrape_configs[", StringComparison.Ordinal) =>
                ["job_name", "scrape_interval", "scrape_timeout", "metrics_path", "scheme", "params", "static_configs", "file_sd_configs",
                 "honor_labels", "honor_timestamps", "relabel_configs", "metric_relabel_configs", "sample_limit", "body_size_limit", .. HttpKeys],
            "static_configs[]" => ["targets", "labels"],
            "file_sd_configs[]" => ["files", "refresh_interval"],
            "basic_auth" => ["username", "password", "password_file"],
            "authorization" => ["type", "credentials", "credentials_file"],
            "tls_config" => ["ca_file", "cert_file", "key_file", "server_name", "insecure_skip_verify"],
            "remote_write[]" => ["url", "name", "remote_timeout", "headers", "write_relabel_configs", "queue_config", .. HttpKeys],
            "queue_config" => ["capacity", "max_shards", "min_shards", "max_samples_per_send", "batch_send_deadline", "min_backoff", "max_backoff", "retry_on_http_429"],
            _ when last.Contains("relabel_configs[", StringComparison.Ordinal) =>
                ["source_labels", "separator", "regex", "modulus", "target_label", "replacement", "action"],
            _ => [],
        };
    }
}
