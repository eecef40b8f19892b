namespace Watchkeeper.Metrics.Scrape;

public static partial class MetricsConfigLoader
{
    /// <summary>
    /// Prometheus keys of these sections that Watchkeeper does not act on. They are errors that say so: accepting
    /// them silently would, for example, scrape without the proxy or remote-write without the OAuth2 credentials asked for.
    /// </summary>
    private static readonly HashSet<string> NotImplementedKeys = new(StringComparer.Ordinal)
    {
        "query_log_file", "scrape_failure_log_file", "scrape_protocols", "fallback_scrape_protocol",
        "target_limit", "keep_dropped_targets", "metric_name_validation_scheme", "metric_name_escaping_scheme",
        "always_scrape_classic_histograms", "scrape_classic_histograms", "convert_classic_histograms_to_nhcb", "native_histogram_bucket_limit",
        "native_histogram_min_bucket_factor", "enable_compression", "track_timestamps_staleness", "proxy_url", "no_proxy",
        "proxy_from_environment", "proxy_connect_header", "enable_http2", "min_version", "max_version", "send_exemplars",
        "send_native_histograms", "metadata_config", "protobuf_message", "round_robin_dns", "sigv4", "oauth2", "azuread",
        "google_iam", "sample_age_limit", "http_headers", "kubernetes_sd_configs", "consul_sd_configs", "dns_sd_configs",
        "ec2_sd_configs", "http_sd_configs", "docker_sd_configs", "dockerswarm_sd_configs", "azure_sd_configs", "gce_sd_configs",
        "openstack_sd_configs", "digitalocean_sd_configs", "hetzner_sd_configs", "eureka_sd_configs", "nomad_sd_configs",
        "marathon_sd_configs", "serverset_sd_configs", "triton_sd_configs", "kuma_sd_configs", "linode_sd_configs",
        "lightsail_sd_configs", "puppetdb_sd_configs", "scaleway_sd_configs", "uyuni_sd_configs", "vultr_sd_configs",
        "ionos_sd_configs", "ovhcloud_sd_configs",
    };

    private static readonly string[] HttpKeys = ["basic_auth", "authorization", "bearer_token", "bearer_token_file", "tls_config", "follow_redirects"];

    /// <summary>The keys valid in the mapping at <paramref name="path"/>, for "did you mean" suggestions on an unknown key.</summary>
    private static IEnumerable<string> KeysAt(string path)
    {
        var last = path[(path.LastIndexOf('.') + 1)..];
        return last switch
        {
            "global" => ["scrape_interval", "scrape_timeout", "evaluation_interval", "rule_query_offset", "external_labels", "sample_limit", "label_limit",
                "label_name_length_limit", "label_value_length_limit", "body_size_limit"],
            _ when last.StartsWith("scrape_configs[", StringComparison.Ordinal) =>
                ["job_name", "scrape_interval", "scrape_timeout", "metrics_path", "scheme", "params", "static_configs", "file_sd_configs",
                 "honor_labels", "honor_timestamps", "relabel_configs", "metric_relabel_configs", "sample_limit", "body_size_limit", "label_limit",
                 "label_name_length_limit", "label_value_length_limit", .. HttpKeys],
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
