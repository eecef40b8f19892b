using System.Globalization;
using Watchkeeper.Metrics.Configuration;
using Watchkeeper.Metrics.Model;
using Watchkeeper.Metrics.Scrape;
using YamlDotNet.RepresentationModel;

namespace Watchkeeper.Alerting.Config;

/// <summary>Small YAML reading helpers whose errors name file, line and key.</summary>
internal sealed class YamlBinder(string file, string baseDir)
{
    public string File => file;

    public ConfigException Error(YamlNode node, string key, string reason, Exception? inner = null) => new(file, node.Start.Line, key, reason, inner);

    public static bool IsNull(YamlNode n) => n is YamlScalarNode s && (s.Value is null or "" or "~" or "null") && s.Style == YamlDotNet.Core.ScalarStyle.Plain;

    public IEnumerable<(string Key, YamlNode Value, YamlNode KeyNode, string Path)> Map(YamlNode node, string path)
    {
        if (IsNull(node)) yield break;
        if (node is not YamlMappingNode m) throw Error(node, path, "expected a mapping");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (k, v) in m.Children)
        {
            var key = k is YamlScalarNode s ? s.Value ?? "" : throw Error(k, path, "expected a scalar key");
            if (!seen.Add(key)) throw Error(k, Join(path, key), "duplicate key");
            yield return (key, v, k, Join(path, key));
        }
    }

    public static string Join(string path, string key) => path.Length == 0 ? key : path + "." + key;

    public IEnumerable<(YamlNode Item, string Path)> Seq(YamlNode node, string path)
    {
        if (IsNull(node)) yield break;
        if (node is not YamlSequenceNode s) throw Error(node, path, "expected a list");
        var i = 0;
        foreach (var c in s.Children) yield return (c, $"{path}[{i++}]");
    }

    public ConfigException Unknown(YamlNode keyNode, string path, IEnumerable<string> valid) =>
        Error(keyNode, path, ConfigKeys.Unknown(path[(path.LastIndexOf('.') + 1)..], valid));

    public string Str(YamlNode node, string path) => node is YamlScalarNode s ? s.Value ?? "" : throw Error(node, path, "expected a string");

    public bool Bool(YamlNode node, string path) => Str(node, path) switch
    {
        "true" or "True" or "TRUE" => true,
        "false" or "False" or "FALSE" => false,
        var x => throw Error(node, path, $"expected true or false, got \"{x}\""),
    };

    public int Int(YamlNode node, string path) =>
        int.TryParse(Str(node, path), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v) && v >= 0
            ? v : throw Error(node, path, $"expected a non-negative integer, got \"{Str(node, path)}\"");

    public TimeSpan Duration(YamlNode node, string path) =>
        PromDuration.TryParse(Str(node, path), out var d, out var e) ? d : throw Error(node, path, e);

    public List<string> StrList(YamlNode node, string path) => [.. Seq(node, path).Select(x => Str(x.Item, x.Path))];

    public Dictionary<string, string> StrMap(YamlNode node, string path)
    {
        var d = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v, _, p) in Map(node, path)) d[k] = Str(v, p);
        return d;
    }

    public string FilePath(YamlNode node, string path)
    {
        var p = Str(node, path);
        return p.Length == 0 ? p : Path.GetFullPath(Path.Combine(baseDir, p));
    }

    public string Url(YamlNode node, string path)
    {
        var s = Str(node, path);
        if (!Uri.TryCreate(s, UriKind.Absolute, out var u) || (u.Scheme != "http" && u.Scheme != "https"))
            throw Error(node, path, $"unsupported URL \"{s}\": expected an absolute http or https URL");
        return s;
    }

    /// <summary>Prometheus's <c>http_config</c> (authorization, basic_auth, bearer_token, tls_config, proxy_url, follow_redirects).</summary>
    public (HttpClientConfig Http, string? Proxy) HttpConfig(YamlNode node, string path)
    {
        var http = new HttpClientConfig();
        string? proxy = null, bearer = null, bearerFile = null;
        foreach (var (key, v, kn, p) in Map(node, path))
        {
            switch (key)
            {
                case "authorization":
                    var type = "Bearer";
                    string? cred = null, credFile = null;
                    foreach (var (k2, v2, kn2, p2) in Map(v, p))
                    {
                        switch (k2)
                        {
                            case "type": type = Str(v2, p2); break;
                            case "credentials": cred = Str(v2, p2); break;
                            case "credentials_file": credFile = FilePath(v2, p2); break;
                            default: throw Unknown(kn2, p2, ["type", "credentials", "credentials_file"]);
                        }
                    }
                    if (string.Equals(type, "basic", StringComparison.OrdinalIgnoreCase))
                        throw Error(v, p + ".type", "authorization type cannot be set to \"basic\", use \"basic_auth\" instead");
                    http = http with { Authorization = new AuthorizationConfig(type, cred, credFile) };
                    break;
                case "basic_auth":
                    string user = "";
                    string? pass = null, passFile = null;
                    foreach (var (k2, v2, kn2, p2) in Map(v, p))
                    {
                        switch (k2)
                        {
                            case "username": user = Str(v2, p2); break;
                            case "password": pass = Str(v2, p2); break;
                            case "password_file": passFile = FilePath(v2, p2); break;
                            default: throw Unknown(kn2, p2, ["username", "password", "password_file"]);
                        }
                    }
                    http = http with { BasicAuth = new BasicAuthConfig(user, pass, passFile) };
                    break;
                case "bearer_token": bearer = Str(v, p); break;
                case "bearer_token_file": bearerFile = FilePath(v, p); break;
                case "tls_config": http = http with { Tls = Tls(v, p) }; break;
                case "proxy_url": proxy = Url(v, p); break;
                case "follow_redirects": http = http with { FollowRedirects = Bool(v, p) }; break;
                case "enable_http2": Bool(v, p); break;
                case "oauth2" or "proxy_from_environment" or "no_proxy" or "proxy_connect_header" or "http_headers":
                    throw Error(v, p, $"{key} is not supported by Watchkeeper's notifiers (supported: authorization, basic_auth, bearer_token, " +
                        "bearer_token_file, tls_config, proxy_url, follow_redirects; see docs/notifications.md)");
                default: throw Unknown(kn, p, ["authorization", "basic_auth", "bearer_token", "bearer_token_file", "tls_config", "proxy_url", "follow_redirects", "enable_http2"]);
            }
        }
        if (bearer is not null || bearerFile is not null)
        {
            if (http.Authorization is not null) throw Error(node, path, "at most one of bearer_token, bearer_token_file and authorization may be set");
            http = http with { Authorization = new AuthorizationConfig("Bearer", bearer, bearerFile) };
        }
        if (http.BasicAuth is not null && http.Authorization is not null)
            throw Error(node, path, "at most one of basic_auth and authorization may be set");
        return (http, proxy);
    }

    public TlsConfig Tls(YamlNode node, string path)
    {
        var t = new TlsConfig();
        foreach (var (key, v, kn, p) in Map(node, path))
        {
            t = key switch
            {
                "ca_file" => t with { CaFile = FilePath(v, p) },
                "cert_file" => t with { CertFile = FilePath(v, p) },
                "key_file" => t with { KeyFile = FilePath(v, p) },
                "server_name" => t with { ServerName = Str(v, p) },
                "insecure_skip_verify" => t with { InsecureSkipVerify = Bool(v, p) },
                "min_version" or "max_version" => throw Error(v, p, $"{key} is not supported by Watchkeeper's notifiers (the TLS versions are the " +
                    "system's defaults, TLS 1.2 and 1.3); remove it"),
                _ => throw Unknown(kn, p, ["ca_file", "cert_file", "key_file", "server_name", "insecure_skip_verify", "min_version", "max_version"]),
            };
        }
        if ((t.CertFile is null) != (t.KeyFile is null)) throw Error(node, path, "cert_file and key_file must both be set");
        return t;
    }
}
