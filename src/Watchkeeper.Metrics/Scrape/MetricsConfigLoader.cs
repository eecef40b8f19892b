using System.Globalization;
using Watchkeeper.Metrics.Configuration;
using Watchkeeper.Metrics.Model;
using Watchkeeper.Metrics.Relabel;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Watchkeeper.Metrics.Scrape;

/// <summary>
/// Binds the Prometheus-compatible sections <c>global</c>, <c>scrape_configs</c> and <c>remote_write</c> of a YAML
/// document; other top-level sections are left to their owners. Unknown keys inside these sections are errors.
/// Relative file paths are resolved against the configuration file's directory.
/// </summary>
public static partial class MetricsConfigLoader
{
    public static MetricsConfig LoadFile(string path)
    {
        var full = Path.GetFullPath(path);
        return Load(File.ReadAllText(full), full, Path.GetDirectoryName(full));
    }

    public static MetricsConfig Load(string yaml, string fileName = "watchkeeper.yml", string? baseDirectory = null)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException e)
        {
            throw new ConfigException(fileName, e.Start.Line, "(yaml)", e.Message, e);
        }
        if (stream.Documents.Count == 0) return new MetricsConfig();
        var root = stream.Documents[0].RootNode;
        if (root is YamlScalarNode { Value: null or "" }) return new MetricsConfig();
        if (root is not YamlMappingNode map)
            throw new ConfigException(fileName, root.Start.Line, "(root)", "expected a mapping");
        return Bind(map, fileName, baseDirectory ?? Directory.GetCurrentDirectory());
    }

    /// <summary>Binds from an already loaded root mapping, for a server that parses the whole file once.</summary>
    public static MetricsConfig Bind(YamlMappingNode root, string fileName, string baseDirectory)
    {
        var b = new Binder(fileName, baseDirectory);
        var global = new GlobalConfig();
        YamlNode? scrapeNode = null, rwNode = null;
        foreach (var (k, v) in root.Children)
        {
            var key = (k as YamlScalarNode)?.Value;
            switch (key)
            {
                case "global": global = b.Global(v); break;
                case "scrape_configs": scrapeNode = v; break;
                case "remote_write": rwNode = v; break;
            }
        }
        var scrapes = new List<ScrapeConfig>();
        var jobs = new HashSet<string>(StringComparer.Ordinal);
        if (scrapeNode is not null && !IsNull(scrapeNode))
        {
            foreach (var item in b.Seq(scrapeNode, "scrape_configs"))
            {
                var sc = b.Scrape(item, global);
                if (!jobs.Add(sc.JobName))
                    throw b.Error(item, "scrape_configs.job_name", $"found multiple scrape configs with job name \"{sc.JobName}\"");
                scrapes.Add(sc);
            }
        }
        var rws = new List<RemoteWriteConfig>();
        if (rwNode is not null && !IsNull(rwNode))
            foreach (var item in b.Seq(rwNode, "remote_write")) rws.Add(b.RemoteWrite(item));
        return new MetricsConfig { Global = global, ScrapeConfigs = scrapes, RemoteWrite = rws };
    }

    private static bool IsNull(YamlNode n) => n is YamlScalarNode s && (s.Value is null or "" or "~" or "null") && s.Style == YamlDotNet.Core.ScalarStyle.Plain;

    private sealed class Binder(string file, string baseDir)
    {
        public ConfigException Error(YamlNode node, string key, string reason, Exception? inner = null) =>
            new(file, node.Start.Line, key, reason, inner);

        public IEnumerable<(string Key, YamlNode Value, YamlNode KeyNode)> Map(YamlNode node, string path)
        {
            if (node is not YamlMappingNode m) throw Error(node, path, "expected a mapping");
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (k, v) in m.Children)
            {
                var key = k is YamlScalarNode s ? s.Value ?? "" : throw Error(k, path, "expected a scalar key");
                if (!seen.Add(key)) throw Error(k, path + "." + key, "duplicate key");
                yield return (key, v, k);
            }
        }

        public IEnumerable<YamlNode> Seq(YamlNode node, string path)
        {
            if (IsNull(node)) return [];
            if (node is not YamlSequenceNode s) throw Error(node, path, "expected a list");
            return s.Children;
        }

        public ConfigException Unknown(YamlNode keyNode, string path, string key) =>
            Error(keyNode, path + "." + key, NotImplementedKeys.Contains(key)
                ? "is a Prometheus setting Watchkeeper does not implement yet (see docs/metrics-collection.md)"
                : ConfigKeys.Unknown(key, KeysAt(path)));

        public string Str(YamlNode node, string path)
        {
            if (node is not YamlScalarNode s) throw Error(node, path, "expected a string");
            return s.Value ?? "";
        }

        public bool Bool(YamlNode node, string path) => Str(node, path) switch
        {
            "true" or "True" or "TRUE" => true,
            "false" or "False" or "FALSE" => false,
            var x => throw Error(node, path, $"expected true or false, got \"{x}\""),
        };

        public long Int(YamlNode node, string path) =>
            long.TryParse(Str(node, path), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v) && v >= 0
                ? v
                : throw Error(node, path, $"expected a non-negative integer, got \"{Str(node, path)}\"");

        public TimeSpan Duration(YamlNode node, string path) =>
            PromDuration.TryParse(Str(node, path), out var d) ? d : throw Error(node, path, $"not a valid duration string: \"{Str(node, path)}\"");

        public List<string> StrList(YamlNode node, string path) => [.. Seq(node, path).Select(n => Str(n, path))];

        public Dictionary<string, string> StrMap(YamlNode node, string path)
        {
            var d = new Dictionary<string, string>(StringComparer.Ordinal);
            if (IsNull(node)) return d;
            foreach (var (k, v, _) in Map(node, path)) d[k] = Str(v, path + "." + k);
            return d;
        }

        public string FilePath(YamlNode node, string path)
        {
            var p = Str(node, path);
            return p.Length == 0 ? p : Path.GetFullPath(Path.Combine(baseDir, p));
        }

        public GlobalConfig Global(YamlNode node)
        {
            var g = new GlobalConfig();
            if (IsNull(node)) return g;
            var timeoutSet = false;
            foreach (var (key, v, kn) in Map(node, "global"))
            {
                var path = "global." + key;
                switch (key)
                {
                    case "scrape_interval": g = g with { ScrapeInterval = Positive(Duration(v, path), v, path) }; break;
                    case "scrape_timeout": g = g with { ScrapeTimeout = Positive(Duration(v, path), v, path) }; timeoutSet = true; break;
                    case "evaluation_interval": g = g with { EvaluationInterval = Positive(Duration(v, path), v, path) }; break;
                    case "rule_query_offset": g = g with { RuleQueryOffset = Duration(v, path) }; break;
                    case "external_labels":
                    {
                        var labels = StrMap(v, path);
                        foreach (var name in labels.Keys)
                            if (!LabelNames.IsValid(name)) throw Error(v, path, $"\"{name}\" is not a valid label name");
                        g = g with { ExternalLabels = Labels.From(labels.Select(kv => new Label(kv.Key, kv.Value))) };
                        break;
                    }
                    case "sample_limit": g = g with { SampleLimit = Limit(v, path) }; break;
                    case "label_limit": g = g with { LabelLimit = Limit(v, path) }; break;
                    case "label_name_length_limit": g = g with { LabelNameLengthLimit = Limit(v, path) }; break;
                    case "label_value_length_limit": g = g with { LabelValueLengthLimit = Limit(v, path) }; break;
                    case "body_size_limit": g = g with { BodySizeLimit = Int(v, path) }; break;
                    default: throw Unknown(kn, "global", key);
                }
            }
            if (!timeoutSet && g.ScrapeTimeout > g.ScrapeInterval) g = g with { ScrapeTimeout = g.ScrapeInterval };
            if (g.ScrapeTimeout > g.ScrapeInterval)
                throw Error(node, "global.scrape_timeout", "global scrape timeout greater than scrape interval");
            return g;
        }

        private int Limit(YamlNode v, string path)
        {
            var n = Int(v, path);
            return n < 0 ? throw Error(v, path, "must not be negative") : (int)Math.Min(int.MaxValue, n);
        }

        private TimeSpan Positive(TimeSpan d, YamlNode node, string path) =>
            d > TimeSpan.Zero ? d : throw Error(node, path, "must be greater than zero");

        public ScrapeConfig Scrape(YamlNode node, GlobalConfig global)
        {
            string? job = null;
            TimeSpan? interval = null, timeout = null;
            YamlNode? intervalNode = null;
            var sc = new ScrapeConfig
            {
                JobName = "",
                SampleLimit = global.SampleLimit,
                LabelLimit = global.LabelLimit,
                LabelNameLengthLimit = global.LabelNameLengthLimit,
                LabelValueLengthLimit = global.LabelValueLengthLimit,
                BodySizeLimit = global.BodySizeLimit,
            };
            var http = new HttpClientConfig();
            string? bearerToken = null, bearerTokenFile = null;
            YamlNode? authNode = null;
            foreach (var (key, v, kn) in Map(node, "scrape_configs[]"))
            {
                var path = (job is null ? "scrape_configs[]" : $"scrape_configs[{job}]") + "." + key;
                switch (key)
                {
                    case "job_name":
                        job = Str(v, path);
                        if (job.Length == 0) throw Error(v, path, "job_name is empty");
                        break;
                    case "scrape_interval": interval = Positive(Duration(v, path), v, path); intervalNode = v; break;
                    case "scrape_timeout": timeout = Positive(Duration(v, path), v, path); break;
                    case "metrics_path": sc = sc with { MetricsPath = Str(v, path) }; break;
                    case "scheme":
                    {
                        var s = Str(v, path);
                        if (s is not ("http" or "https")) throw Error(v, path, $"unknown scheme \"{s}\", expected http or https");
                        sc = sc with { Scheme = s };
                        break;
                    }
                    case "params":
                    {
                        var d = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
                        foreach (var (pk, pv, _) in Map(v, path)) d[pk] = StrList(pv, path + "." + pk);
                        sc = sc with { Params = d };
                        break;
                    }
                    case "static_configs":
                    {
                        var groups = new List<TargetGroup>();
                        var i = 0;
                        foreach (var g in Seq(v, path)) groups.Add(StaticGroup(g, path, i++));
                        sc = sc with { StaticConfigs = groups };
                        break;
                    }
                    case "file_sd_configs":
                    {
                        var list = new List<FileSdConfig>();
                        foreach (var f in Seq(v, path)) list.Add(FileSd(f, path));
                        sc = sc with { FileSdConfigs = list };
                        break;
                    }
                    case "basic_auth": http = http with { BasicAuth = BasicAuth(v, path) }; break;
                    case "authorization": http = http with { Authorization = Authorization(v, path) }; authNode = v; break;
                    case "bearer_token": bearerToken = Str(v, path); authNode ??= v; break;
                    case "bearer_token_file": bearerTokenFile = FilePath(v, path); authNode ??= v; break;
                    case "tls_config": http = http with { Tls = Tls(v, path) }; break;
                    case "follow_redirects": http = http with { FollowRedirects = Bool(v, path) }; break;
                    case "honor_labels": sc = sc with { HonorLabels = Bool(v, path) }; break;
                    case "honor_timestamps": sc = sc with { HonorTimestamps = Bool(v, path) }; break;
                    case "relabel_configs": sc = sc with { RelabelConfigs = RelabelList(v, path) }; break;
                    case "metric_relabel_configs": sc = sc with { MetricRelabelConfigs = RelabelList(v, path) }; break;
                    case "sample_limit": sc = sc with { SampleLimit = Limit(v, path) }; break;
                    case "body_size_limit": sc = sc with { BodySizeLimit = Int(v, path) }; break;
                    case "label_limit": sc = sc with { LabelLimit = Limit(v, path) }; break;
                    case "label_name_length_limit": sc = sc with { LabelNameLengthLimit = Limit(v, path) }; break;
                    case "label_value_length_limit": sc = sc with { LabelValueLengthLimit = Limit(v, path) }; break;
                    default: throw Unknown(kn, job is null ? "scrape_configs[]" : $"scrape_configs[{job}]", key);
                }
            }
            if (job is null) throw Error(node, "scrape_configs[].job_name", "job_name is required");
            var name = $"scrape_configs[{job}]";
            if (bearerToken is not null || bearerTokenFile is not null)
            {
                if (http.Authorization is not null || (bearerToken is not null && bearerTokenFile is not null))
                    throw Error(authNode!, name + ".authorization", "at most one of bearer_token, bearer_token_file and authorization may be set");
                http = http with { Authorization = new AuthorizationConfig("Bearer", bearerToken, bearerTokenFile) };
            }
            if (http.BasicAuth is not null && http.Authorization is not null)
                throw Error(authNode ?? node, name + ".basic_auth", "at most one of basic_auth and authorization may be set");
            var iv = interval ?? global.ScrapeInterval;
            var to = timeout ?? (global.ScrapeTimeout > iv ? iv : global.ScrapeTimeout);
            if (to > iv) throw Error(intervalNode ?? node, name + ".scrape_timeout", $"scrape timeout greater than scrape interval for scrape config with job name \"{job}\"");
            return sc with { JobName = job, ScrapeInterval = iv, ScrapeTimeout = to, Http = http };
        }

        private TargetGroup StaticGroup(YamlNode node, string path, int index)
        {
            var targets = new List<string>();
            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (key, v, kn) in Map(node, path + "[]"))
            {
                switch (key)
                {
                    case "targets":
                        foreach (var t in Seq(v, path + ".targets"))
                        {
                            var s = Str(t, path + ".targets");
                            if (s.Length == 0 || s.Contains('/', StringComparison.Ordinal))
                                throw Error(t, path + ".targets", $"\"{s}\" is not a valid host:port target");
                            targets.Add(s);
                        }
                        break;
                    case "labels":
                        labels = StrMap(v, path + ".labels");
                        foreach (var n in labels.Keys)
                            if (!LabelNames.IsValid(n)) throw Error(v, path + ".labels", $"\"{n}\" is not a valid label name");
                        break;
                    default: throw Unknown(kn, path + "[]", key);
                }
            }
            return new TargetGroup(targets, labels, $"static:{index}");
        }

        private FileSdConfig FileSd(YamlNode node, string path)
        {
            var files = new List<string>();
            var refresh = TimeSpan.FromMinutes(5);
            foreach (var (key, v, kn) in Map(node, path + "[]"))
            {
                switch (key)
                {
                    case "files":
                        foreach (var f in Seq(v, path + ".files"))
                        {
                            var p = FilePath(f, path + ".files");
                            var ext = Path.GetExtension(p);
                            if (ext is not (".json" or ".yml" or ".yaml"))
                                throw Error(f, path + ".files", $"\"{p}\" must end in .json, .yml or .yaml");
                            if (Path.GetDirectoryName(p)!.Contains('*', StringComparison.Ordinal))
                                throw Error(f, path + ".files", "only the last path element may contain a '*' pattern");
                            files.Add(p);
                        }
                        break;
                    case "refresh_interval": refresh = Positive(Duration(v, path + ".refresh_interval"), v, path + ".refresh_interval"); break;
                    default: throw Unknown(kn, path + "[]", key);
                }
            }
            if (files.Count == 0) throw Error(node, path + ".files", "file service discovery config must contain at least one path name");
            return new FileSdConfig(files, refresh);
        }

        public BasicAuthConfig BasicAuth(YamlNode node, string path)
        {
            string user = "";
            string? pass = null, passFile = null;
            foreach (var (key, v, kn) in Map(node, path))
            {
                switch (key)
                {
                    case "username": user = Str(v, path + ".username"); break;
                    case "password": pass = Str(v, path + ".password"); break;
                    case "password_file": passFile = FilePath(v, path + ".password_file"); break;
                    default: throw Unknown(kn, path, key);
                }
            }
            if (pass is not null && passFile is not null) throw Error(node, path, "at most one of password and password_file may be set");
            return new BasicAuthConfig(user, pass, passFile);
        }

        public AuthorizationConfig Authorization(YamlNode node, string path)
        {
            var type = "Bearer";
            string? cred = null, credFile = null;
            foreach (var (key, v, kn) in Map(node, path))
            {
                switch (key)
                {
                    case "type": type = Str(v, path + ".type"); break;
                    case "credentials": cred = Str(v, path + ".credentials"); break;
                    case "credentials_file": credFile = FilePath(v, path + ".credentials_file"); break;
                    default: throw Unknown(kn, path, key);
                }
            }
            if (string.Equals(type, "basic", StringComparison.OrdinalIgnoreCase))
                throw Error(node, path + ".type", "authorization type cannot be set to \"basic\", use \"basic_auth\" instead");
            if (cred is not null && credFile is not null) throw Error(node, path, "at most one of credentials and credentials_file may be set");
            return new AuthorizationConfig(type.Length == 0 ? "Bearer" : type, cred, credFile);
        }

        public TlsConfig Tls(YamlNode node, string path)
        {
            var t = new TlsConfig();
            foreach (var (key, v, kn) in Map(node, path))
            {
                var p = path + "." + key;
                switch (key)
                {
                    case "ca_file": t = t with { CaFile = FilePath(v, p) }; break;
                    case "cert_file": t = t with { CertFile = FilePath(v, p) }; break;
                    case "key_file": t = t with { KeyFile = FilePath(v, p) }; break;
                    case "server_name": t = t with { ServerName = Str(v, p) }; break;
                    case "insecure_skip_verify": t = t with { InsecureSkipVerify = Bool(v, p) }; break;
                    default: throw Unknown(kn, path, key);
                }
            }
            if ((t.CertFile is null) != (t.KeyFile is null))
                throw Error(node, path, "cert_file and key_file must both be set");
            return t;
        }

        public List<RelabelRule> RelabelList(YamlNode node, string path)
        {
            var list = new List<RelabelRule>();
            var i = 0;
            foreach (var item in Seq(node, path))
            {
                var ip = $"{path}[{i++}]";
                var c = new RelabelConfig();
                foreach (var (key, v, kn) in Map(item, ip))
                {
                    var p = ip + "." + key;
                    switch (key)
                    {
                        case "source_labels":
                        {
                            var names = StrList(v, p);
                            foreach (var n in names)
                                if (!LabelNames.IsValid(n)) throw Error(v, p, $"\"{n}\" is not a valid label name");
                            c = c with { SourceLabels = names };
                            break;
                        }
                        case "separator": c = c with { Separator = Str(v, p) }; break;
                        case "regex": c = c with { Regex = Str(v, p) }; break;
                        case "modulus": c = c with { Modulus = (ulong)Int(v, p) }; break;
                        case "target_label": c = c with { TargetLabel = Str(v, p) }; break;
                        case "replacement": c = c with { Replacement = Str(v, p) }; break;
                        case "action":
                            if (!RelabelConfig.TryParseAction(Str(v, p), out var a)) throw Error(v, p, $"unknown relabel action \"{Str(v, p)}\"");
                            c = c with { Action = a };
                            break;
                        default: throw Unknown(kn, ip, key);
                    }
                }
                try
                {
                    list.Add(c.Compile());
                }
                catch (ArgumentException e)
                {
                    throw Error(item, ip, e.Message, e);
                }
            }
            return list;
        }

        public RemoteWriteConfig RemoteWrite(YamlNode node)
        {
            Uri? url = null;
            var rw = new RemoteWriteConfig { Url = new Uri("http://localhost/") };
            var http = new HttpClientConfig();
            string? bearerToken = null, bearerTokenFile = null;
            foreach (var (key, v, kn) in Map(node, "remote_write[]"))
            {
                var p = "remote_write[]." + key;
                switch (key)
                {
                    case "url":
                        if (!Uri.TryCreate(Str(v, p), UriKind.Absolute, out url) || url.Scheme is not ("http" or "https"))
                            throw Error(v, p, $"\"{Str(v, p)}\" is not a valid http(s) URL");
                        break;
                    case "name": rw = rw with { Name = Str(v, p) }; break;
                    case "remote_timeout": rw = rw with { RemoteTimeout = Positive(Duration(v, p), v, p) }; break;
                    case "headers": rw = rw with { Headers = StrMap(v, p) }; break;
                    case "write_relabel_configs": rw = rw with { WriteRelabelConfigs = RelabelList(v, p) }; break;
                    case "basic_auth": http = http with { BasicAuth = BasicAuth(v, p) }; break;
                    case "authorization": http = http with { Authorization = Authorization(v, p) }; break;
                    case "bearer_token": bearerToken = Str(v, p); break;
                    case "bearer_token_file": bearerTokenFile = FilePath(v, p); break;
                    case "tls_config": http = http with { Tls = Tls(v, p) }; break;
                    case "follow_redirects": http = http with { FollowRedirects = Bool(v, p) }; break;
                    case "queue_config": rw = rw with { Queue = Queue(v, p) }; break;
                    default: throw Unknown(kn, "remote_write[]", key);
                }
            }
            if (url is null) throw Error(node, "remote_write[].url", "url is required");
            if (bearerToken is not null || bearerTokenFile is not null)
                http = http with { Authorization = new AuthorizationConfig("Bearer", bearerToken, bearerTokenFile) };
            return rw with { Url = url, Http = http, Name = rw.Name.Length > 0 ? rw.Name : url.ToString() };
        }

        private QueueConfig Queue(YamlNode node, string path)
        {
            var q = new QueueConfig();
            foreach (var (key, v, kn) in Map(node, path))
            {
                var p = path + "." + key;
                switch (key)
                {
                    case "capacity": q = q with { Capacity = (int)Math.Clamp(Int(v, p), 1, int.MaxValue) }; break;
                    case "max_shards": q = q with { MaxShards = (int)Math.Clamp(Int(v, p), 1, 1000) }; break;
                    case "min_shards": q = q with { MinShards = (int)Math.Clamp(Int(v, p), 1, 1000) }; break;
                    case "max_samples_per_send": q = q with { MaxSamplesPerSend = (int)Math.Clamp(Int(v, p), 1, int.MaxValue) }; break;
                    case "batch_send_deadline": q = q with { BatchSendDeadline = Positive(Duration(v, p), v, p) }; break;
                    case "min_backoff": q = q with { MinBackoff = Duration(v, p) }; break;
                    case "max_backoff": q = q with { MaxBackoff = Duration(v, p) }; break;
                    case "retry_on_http_429": q = q with { RetryOnHttp429 = Bool(v, p) }; break;
                    default: throw Unknown(kn, path, key);
                }
            }
            return q;
        }
    }
}
