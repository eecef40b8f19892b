using YamlDotNet.RepresentationModel;

namespace Watchkeeper.Metrics.Configuration;

/// <summary>
/// Masks secrets in a configuration document before it is shown (status pages and APIs), as Prometheus and
/// Alertmanager print <c>&lt;secret&gt;</c>: passwords, tokens, keys, credentials, connection strings, and receiver
/// URLs that are credentials in themselves (Slack and Teams webhooks, a webhook receiver's <c>url</c>). Paths to
/// secret files (<c>*_file</c>) stay visible; a password inside any URL's user information is masked too.
/// </summary>
public static class SecretRedactor
{
    public const string Mask = "<secret>";

    private static readonly string[] SecretSuffixes =
        ["password", "secret", "token", "_key", "credentials", "connection_string", "api_url", "webhook_url"];
    private static readonly HashSet<string> SecretNames = new(StringComparer.Ordinal) { "key", "api_key", "routing_key", "service_key" };

    /// <summary>Whether a mapping key holds a secret wherever it appears (<paramref name="underReceiver"/>: inside <c>*_configs</c> of a receiver).</summary>
    public static bool IsSecretKey(string key, bool underReceiver = false)
    {
        if (key.EndsWith("_file", StringComparison.Ordinal)) return false;
        if (SecretNames.Contains(key)) return true;
        if (underReceiver && key == "url") return true;
        foreach (var s in SecretSuffixes)
            if (key.EndsWith(s, StringComparison.Ordinal)) return true;
        return false;
    }

    /// <summary>The YAML text with every secret masked; text that is not YAML comes back as a one-line note instead.</summary>
    public static string RedactYaml(string yaml)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlDotNet.Core.YamlException)
        {
            return "# (not shown: the file is not valid YAML)\n";
        }
        foreach (var doc in stream.Documents) Walk(doc.RootNode, false);
        var sw = new StringWriter();
        stream.Save(sw, assignAnchors: false);
        var s = sw.ToString();
        return s.EndsWith("...\n", StringComparison.Ordinal) ? s[..^4] : s;
    }

    private static void Walk(YamlNode node, bool underReceiver)
    {
        switch (node)
        {
            case YamlMappingNode map:
                foreach (var (k, v) in map.Children.ToList())
                {
                    var key = (k as YamlScalarNode)?.Value ?? "";
                    if (v is YamlScalarNode sv && sv.Value is { Length: > 0 })
                    {
                        if (IsSecretKey(key, underReceiver)) map.Children[k] = new YamlScalarNode(Mask);
                        else if (MaskUserInfo(sv.Value) is { } masked) map.Children[k] = new YamlScalarNode(masked);
                    }
                    else if (v is YamlSequenceNode or YamlMappingNode && IsSecretKey(key) && key.EndsWith("credentials", StringComparison.Ordinal))
                        map.Children[k] = new YamlScalarNode(Mask);
                    else Walk(v, underReceiver || key.EndsWith("_configs", StringComparison.Ordinal) && key != "scrape_configs" && key != "static_configs"
                        && key != "file_sd_configs" && key != "relabel_configs" && key != "metric_relabel_configs");
                }
                break;
            case YamlSequenceNode seq:
                for (var i = 0; i < seq.Children.Count; i++)
                {
                    if (seq.Children[i] is YamlScalarNode s && s.Value is { } v && MaskUserInfo(v) is { } masked) seq.Children[i] = new YamlScalarNode(masked);
                    else Walk(seq.Children[i], underReceiver);
                }
                break;
        }
    }

    /// <summary><c>https://user:pass@host/</c> becomes <c>https://user:&lt;secret&gt;@host/</c>; null when there is nothing to mask.</summary>
    private static string? MaskUserInfo(string value)
    {
        var scheme = value.IndexOf("://", StringComparison.Ordinal);
        if (scheme <= 0) return null;
        var at = value.IndexOf('@', scheme + 3);
        var slash = value.IndexOf('/', scheme + 3);
        if (at < 0 || (slash >= 0 && slash < at)) return null;
        var colon = value.IndexOf(':', scheme + 3);
        if (colon < 0 || colon > at) return null;
        return value[..(colon + 1)] + Mask + value[at..];
    }
}
