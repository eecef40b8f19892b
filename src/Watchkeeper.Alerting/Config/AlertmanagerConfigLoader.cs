using Watchkeeper.Alerting.Routing;
using Watchkeeper.Alerting.TimeIntervals;
using Watchkeeper.Metrics.Configuration;
using Watchkeeper.Metrics.Model;
using YamlDotNet.RepresentationModel;

namespace Watchkeeper.Alerting.Config;

/// <summary>
/// Binds Alertmanager's configuration: from the top level of watchkeeper.yml (<see cref="WatchkeeperSections"/>, with
/// Alertmanager's <c>global</c> under <c>alertmanager.global</c> because <c>global</c> is Prometheus's there), or from
/// an alertmanager.yml named by <c>alertmanager_config_file</c>. Errors are <see cref="ConfigException"/>s naming
/// file, line and key.
/// </summary>
public static class AlertmanagerConfigLoader
{
    /// <summary>Top-level keys of watchkeeper.yml this loader binds.</summary>
    public static readonly IReadOnlySet<string> WatchkeeperSections = new HashSet<string>(StringComparer.Ordinal)
    {
        "route", "receivers", "inhibit_rules", "time_intervals", "mute_time_intervals", "templates", "alertmanager", "alertmanager_config_file",
    };

    private static readonly string[] FileSections = ["global", "route", "receivers", "inhibit_rules", "time_intervals", "mute_time_intervals", "templates"];

    /// <summary>Binds from watchkeeper.yml's root mapping; null when it has no Alertmanager section at all.</summary>
    public static AlertmanagerConfig? BindWatchkeeper(YamlMappingNode root, string file, string baseDir)
    {
        var b = new YamlBinder(file, baseDir);
        var present = root.Children.Where(c => c.Key is YamlScalarNode s && WatchkeeperSections.Contains(s.Value ?? "")).ToList();
        if (present.Count == 0) return null;
        var fileNode = present.FirstOrDefault(c => ((YamlScalarNode)c.Key).Value == "alertmanager_config_file");
        if (fileNode.Key is not null)
        {
            var other = present.FirstOrDefault(c => ((YamlScalarNode)c.Key).Value != "alertmanager_config_file");
            if (other.Key is not null)
                throw b.Error(other.Key, ((YamlScalarNode)other.Key).Value ?? "", "cannot be set together with alertmanager_config_file (put it in that file)");
            var path = b.FilePath(fileNode.Value, "alertmanager_config_file");
            if (!File.Exists(path)) throw b.Error(fileNode.Value, "alertmanager_config_file", $"file '{path}' not found");
            return LoadFile(path);
        }
        var sections = new YamlMappingNode();
        foreach (var (k, v) in present)
        {
            var key = ((YamlScalarNode)k).Value!;
            if (key == "alertmanager")
            {
                foreach (var (k2, v2, kn2, p2) in b.Map(v, "alertmanager"))
                {
                    if (k2 != "global") throw b.Unknown(kn2, p2, ["global"]);
                    sections.Add(new YamlScalarNode("global"), v2);
                }
            }
            else sections.Add(k, v);
        }
        return Bind(b, sections, Serialize(sections), file, "alertmanager.global");
    }

    public static AlertmanagerConfig LoadFile(string path)
    {
        var full = Path.GetFullPath(path);
        var text = File.ReadAllText(full);
        return Parse(text, full, Path.GetDirectoryName(full) ?? ".");
    }

    /// <summary>Parses an alertmanager.yml.</summary>
    public static AlertmanagerConfig Parse(string text, string file, string baseDir)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlDotNet.Core.YamlException e)
        {
            throw new ConfigException(file, e.Start.Line, "(yaml)", e.InnerException?.Message ?? e.Message, e);
        }
        var b = new YamlBinder(file, baseDir);
        if (stream.Documents.Count == 0 || YamlBinder.IsNull(stream.Documents[0].RootNode)) throw new ConfigException(file, 1, "route", "no route provided in config");
        if (stream.Documents[0].RootNode is not YamlMappingNode root) throw b.Error(stream.Documents[0].RootNode, "", "expected a mapping");
        foreach (var (key, _, kn, p) in b.Map(root, ""))
            if (!FileSections.Contains(key)) throw b.Unknown(kn, p, FileSections);
        var cfg = Bind(b, root, text, file);
        return cfg.Route is null ? throw new ConfigException(file, 1, "route", "no route provided in config") : cfg;
    }

    private static string Serialize(YamlMappingNode node)
    {
        var sw = new StringWriter();
        new YamlStream(new YamlDocument(node)).Save(sw, assignAnchors: false);
        var s = sw.ToString();
        return s.EndsWith("...\n", StringComparison.Ordinal) ? s[..^4] : s.Replace("\r\n...\r\n", "\r\n", StringComparison.Ordinal);
    }

    private static AlertmanagerConfig Bind(YamlBinder b, YamlMappingNode root, string original, string file, string globalPath = "global")
    {
        YamlNode? Get(string k) => root.Children.FirstOrDefault(c => c.Key is YamlScalarNode s && s.Value == k).Value;
        YamlNode? KeyNode(string k) => root.Children.FirstOrDefault(c => c.Key is YamlScalarNode s && s.Value == k).Key;

        var global = Get("global") is { } gn ? Global(b, gn, globalPath) : new AlertmanagerGlobal();
        var intervals = new Dictionary<string, TimeInterval>(StringComparer.Ordinal);
        foreach (var section in new[] { "mute_time_intervals", "time_intervals" })
        {
            if (Get(section) is not { } tn) continue;
            foreach (var (item, ip) in b.Seq(tn, section))
            {
                var ti = TimeIntervalBinder.Bind(b, item, ip);
                if (!intervals.TryAdd(ti.Name, ti)) throw b.Error(item, ip + ".name", $"time interval \"{ti.Name}\" is not unique");
            }
        }
        var receivers = new List<ReceiverConfig>();
        if (Get("receivers") is { } rn)
        {
            foreach (var (item, ip) in b.Seq(rn, "receivers"))
            {
                var r = ReceiverBinder.Bind(b, item, ip, global);
                if (receivers.Any(x => x.Name == r.Name)) throw b.Error(item, ip + ".name", $"notification config name \"{r.Name}\" is not unique");
                receivers.Add(r);
            }
        }
        var names = receivers.Select(r => r.Name).ToHashSet(StringComparer.Ordinal);
        Route? route = null;
        if (Get("route") is { } routeNode && !YamlBinder.IsNull(routeNode))
        {
            route = RouteBinder.Bind(b, routeNode, "route", null, 0, names, intervals);
        }
        else if (receivers.Count > 0 && KeyNode("receivers") is { } rk)
        {
            throw b.Error(rk, "route", "receivers are configured but there is no route");
        }
        var inhibit = new List<InhibitRule>();
        if (Get("inhibit_rules") is { } inn)
            foreach (var (item, ip) in b.Seq(inn, "inhibit_rules")) inhibit.Add(Inhibit(b, item, ip));
        var globs = new List<string>();
        var templates = new List<string>();
        if (Get("templates") is { } tpl)
        {
            foreach (var (item, ip) in b.Seq(tpl, "templates"))
            {
                var glob = b.FilePath(item, ip);
                globs.Add(glob);
                templates.AddRange(ExpandGlob(glob));
            }
        }
        return new AlertmanagerConfig
        {
            Global = global, Route = route, Receivers = receivers, InhibitRules = inhibit, TimeIntervals = intervals,
            Templates = templates, TemplateGlobs = globs, Original = original, SourceFile = file,
        };
    }

    /// <summary>A path whose last segment may hold <c>*</c> and <c>?</c> wildcards (Go's filepath.Glob in the common form).</summary>
    public static IEnumerable<string> ExpandGlob(string glob)
    {
        var dir = Path.GetDirectoryName(glob) ?? ".";
        var pattern = Path.GetFileName(glob);
        if (!Directory.Exists(dir)) return [];
        if (pattern.IndexOfAny(['*', '?', '[']) < 0) return File.Exists(glob) ? [glob] : [];
        return Directory.EnumerateFiles(dir, pattern).Order(StringComparer.Ordinal);
    }

    private static AlertmanagerGlobal Global(YamlBinder b, YamlNode node, string path)
    {
        var g = new AlertmanagerGlobal();
        string[] keys = ["resolve_timeout", "smtp_from", "smtp_hello", "smtp_smarthost", "smtp_auth_username", "smtp_auth_password", "smtp_auth_password_file", "smtp_auth_identity", "smtp_auth_secret", "smtp_require_tls", "slack_api_url", "slack_api_url_file", "pagerduty_url", "http_config"];
        foreach (var (key, v, kn, p) in b.Map(node, path))
        {
            g = key switch
            {
                "resolve_timeout" => g with { ResolveTimeout = b.Duration(v, p) },
                "smtp_from" => g with { SmtpFrom = b.Str(v, p) },
                "smtp_hello" => g with { SmtpHello = b.Str(v, p) },
                "smtp_smarthost" => g with { SmtpSmarthost = ReceiverBinder.HostPort(b, v, p) },
                "smtp_auth_username" => g with { SmtpAuthUsername = b.Str(v, p) },
                "smtp_auth_password" => g with { SmtpAuthPassword = b.Str(v, p) },
                "smtp_auth_password_file" => g with { SmtpAuthPasswordFile = b.FilePath(v, p) },
                "smtp_auth_identity" => g with { SmtpAuthIdentity = b.Str(v, p) },
                "smtp_auth_secret" => g with { SmtpAuthSecret = b.Str(v, p) },
                "smtp_require_tls" => g with { SmtpRequireTls = b.Bool(v, p) },
                "slack_api_url" => g with { SlackApiUrl = b.Url(v, p) },
                "slack_api_url_file" => g with { SlackApiUrlFile = b.FilePath(v, p) },
                "pagerduty_url" => g with { PagerdutyUrl = b.Url(v, p) },
                "http_config" => g with { HttpConfig = b.HttpConfig(v, p).Http },
                _ when key.StartsWith("opsgenie_", StringComparison.Ordinal) || key.StartsWith("victorops_", StringComparison.Ordinal)
                    || key.StartsWith("wechat_", StringComparison.Ordinal) || key.StartsWith("telegram_", StringComparison.Ordinal)
                    || key.StartsWith("webex_", StringComparison.Ordinal) || key.StartsWith("jira_", StringComparison.Ordinal)
                    || key.StartsWith("rocketchat_", StringComparison.Ordinal)
                    => throw b.Error(kn, p, "is a setting of an Alertmanager integration Watchkeeper does not implement"),
                _ => throw b.Unknown(kn, p, keys),
            };
        }
        if (g.ResolveTimeout <= TimeSpan.Zero) throw b.Error(node, path + ".resolve_timeout", "resolve_timeout must be positive");
        return g;
    }

    private static InhibitRule Inhibit(YamlBinder b, YamlNode node, string path)
    {
        var source = new List<Matcher>();
        var target = new List<Matcher>();
        var equal = new List<string>();
        string[] keys = ["source_matchers", "target_matchers", "source_match", "source_match_re", "target_match", "target_match_re", "equal"];
        foreach (var (key, v, kn, p) in b.Map(node, path))
        {
            switch (key)
            {
                case "source_matchers": source.AddRange(RouteBinder.MatcherList(b, v, p)); break;
                case "target_matchers": target.AddRange(RouteBinder.MatcherList(b, v, p)); break;
                case "source_match": source.AddRange(RouteBinder.MatchMap(b, v, p, MatchOp.Equal)); break;
                case "source_match_re": source.AddRange(RouteBinder.MatchMap(b, v, p, MatchOp.Regex)); break;
                case "target_match": target.AddRange(RouteBinder.MatchMap(b, v, p, MatchOp.Equal)); break;
                case "target_match_re": target.AddRange(RouteBinder.MatchMap(b, v, p, MatchOp.Regex)); break;
                case "equal": equal.AddRange(b.StrList(v, p)); break;
                default: throw b.Unknown(kn, p, keys);
            }
        }
        return new InhibitRule(new Matchers(source), new Matchers(target), equal);
    }
}
