using System.Text.RegularExpressions;
using Watchkeeper.Metrics.Configuration;
using Watchkeeper.Metrics.Rules;
using Watchkeeper.Metrics.Scrape;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Rules;

/// <summary>The <c>rules:</c> section: Prometheus's rule flags as keys.</summary>
public sealed class RulesConfig
{
    public RulesAlertConfig Alert { get; set; } = new();
}

public sealed class RulesAlertConfig
{
    /// <summary>Longest outage across which an alert's <c>for</c> progress is restored (--rules.alert.for-outage-tolerance).</summary>
    public Duration ForOutageTolerance { get; set; } = new(TimeSpan.FromHours(1));

    /// <summary>Least time between a restart and a restored alert firing (--rules.alert.for-grace-period).</summary>
    public Duration ForGracePeriod { get; set; } = new(TimeSpan.FromMinutes(10));

    /// <summary>Least time between two sends of the same alert (--rules.alert.resend-delay).</summary>
    public Duration ResendDelay { get; set; } = new(TimeSpan.FromMinutes(1));
}

/// <summary>HTTP basic authentication, as Prometheus writes it.</summary>
public sealed class BasicAuthSection
{
    public string Username { get; set; } = "";
    public string? Password { get; set; }
    public string? PasswordFile { get; set; }
}

/// <summary>An Authorization header (default type Bearer), as Prometheus writes it.</summary>
public sealed class AuthorizationSection
{
    public string Type { get; set; } = "Bearer";
    public string? Credentials { get; set; }
    public string? CredentialsFile { get; set; }
}

/// <summary>
/// <c>query_source:</c> rules read from an external Prometheus-compatible query API instead of the embedded TSDB;
/// their results are written to the embedded TSDB and, by remote write, to <c>write_url</c> (default
/// <c>{url}/api/v1/write</c>) so later rules read them back.
/// </summary>
public sealed class QuerySourceConfig
{
    public string Url { get; set; } = "";
    public string? WriteUrl { get; set; }
    public BasicAuthSection? BasicAuth { get; set; }
    public AuthorizationSection? Authorization { get; set; }
    public Duration Timeout { get; set; } = new(TimeSpan.FromSeconds(30));
}

/// <summary>Prometheus's <c>alerting:</c> section: the Alertmanagers alerts are sent to (besides Watchkeeper's own).</summary>
public sealed class AlertingConfig
{
    public List<AlertmanagerSection> Alertmanagers { get; set; } = [];
}

public sealed class AlertmanagerSection
{
    public List<StaticTargetsSection> StaticConfigs { get; set; } = [];
    public string Scheme { get; set; } = "http";
    public string PathPrefix { get; set; } = "/";
    public Duration Timeout { get; set; } = new(TimeSpan.FromSeconds(10));
    public string ApiVersion { get; set; } = "v2";
    public BasicAuthSection? BasicAuth { get; set; }
    public AuthorizationSection? Authorization { get; set; }
}

public sealed class StaticTargetsSection
{
    public List<string> Targets { get; set; } = [];
}

/// <summary>Loads the rule files <c>rule_files</c> names (globs relative to the config file) and checks the rule sections.</summary>
public static partial class RulesConfigLoader
{
    public static RuleFileLimits Limits { get; } = RuleFileLimits.Default;

    /// <summary>The template engine rule files are checked with (set at start-up once one is available).</summary>
    public static IRuleTemplateEngine? Templates { get; set; } = RuleTemplateEngines.Default;

    public static void Load(WatchkeeperConfig c, ConfigSource source, string dir)
    {
        var files = new List<string>();
        for (var i = 0; i < c.RuleFiles.Count; i++)
        {
            var key = $"rule_files[{i}]";
            var pattern = c.RuleFiles[i];
            if (string.IsNullOrWhiteSpace(pattern)) throw source.Error(key, "empty rule file pattern");
            List<string> matched;
            try
            {
                matched = Glob(Path.GetFullPath(Path.Combine(dir, pattern)));
            }
            catch (ArgumentException ex)
            {
                throw source.Error(key, $"invalid pattern '{pattern}': {ex.Message}");
            }
            foreach (var f in matched) if (!files.Contains(f)) files.Add(f);
            if (files.Count > Limits.MaxFiles) throw source.Error(key, $"more than {Limits.MaxFiles} rule files");
        }
        var defs = new List<RuleFileDef>();
        foreach (var f in files)
        {
            try
            {
                defs.Add(RuleFileParser.ParseFile(f, Templates, Limits));
            }
            catch (RuleFileException ex)
            {
                throw new ConfigException(source.File, source.LineOf("rule_files"), "rule_files",
                    $"invalid rule file {f}:\n  " + string.Join("\n  ", ex.Errors.Select(e => e.ToString())));
            }
        }
        c.RuleFileDefs = defs;

        if (c.QuerySource is { } q)
        {
            if (!Uri.TryCreate(q.Url, UriKind.Absolute, out var u) || u.Scheme is not ("http" or "https"))
                throw source.Error("query_source.url", $"'{q.Url}' is not an absolute http(s) URL");
            if (q.WriteUrl is { Length: > 0 } w && (!Uri.TryCreate(w, UriKind.Absolute, out var wu) || wu.Scheme is not ("http" or "https")))
                throw source.Error("query_source.write_url", $"'{w}' is not an absolute http(s) URL");
            CheckAuth(source, "query_source", q.BasicAuth, q.Authorization);
            if (q.Timeout.Value <= TimeSpan.Zero) throw source.Error("query_source.timeout", "must be a positive duration");
        }
        for (var i = 0; i < c.Alerting.Alertmanagers.Count; i++)
        {
            var a = c.Alerting.Alertmanagers[i];
            var key = $"alerting.alertmanagers[{i}]";
            if (a.Scheme is not ("http" or "https")) throw source.Error(key + ".scheme", $"'{a.Scheme}' must be http or https");
            if (a.ApiVersion != "v2") throw source.Error(key + ".api_version", $"'{a.ApiVersion}': only Alertmanager API v2 is supported");
            if (a.Timeout.Value <= TimeSpan.Zero) throw source.Error(key + ".timeout", "must be a positive duration");
            CheckAuth(source, key, a.BasicAuth, a.Authorization);
            for (var j = 0; j < a.StaticConfigs.Count; j++)
                for (var k = 0; k < a.StaticConfigs[j].Targets.Count; k++)
                {
                    var t = a.StaticConfigs[j].Targets[k];
                    if (!Uri.TryCreate($"{a.Scheme}://{t}/", UriKind.Absolute, out var tu) || tu.Port <= 0 || tu.AbsolutePath != "/" || t.Contains('/', StringComparison.Ordinal))
                        throw source.Error($"{key}.static_configs[{j}].targets[{k}]", $"'{t}' is not a host:port address");
                }
        }
        var alert = c.Rules.Alert;
        if (alert.ResendDelay.Value <= TimeSpan.Zero) throw source.Error("rules.alert.resend_delay", "must be a positive duration");
        if (alert.ForGracePeriod.Value < TimeSpan.Zero) throw source.Error("rules.alert.for_grace_period", "must not be negative");
        if (alert.ForOutageTolerance.Value < TimeSpan.Zero) throw source.Error("rules.alert.for_outage_tolerance", "must not be negative");
    }

    private static void CheckAuth(ConfigSource source, string key, BasicAuthSection? basic, AuthorizationSection? auth)
    {
        if (basic is not null && auth is not null) throw source.Error(key, "at most one of basic_auth and authorization may be set");
        if (basic is not null && basic.Password is not null && basic.PasswordFile is not null)
            throw source.Error(key + ".basic_auth", "at most one of password and password_file may be set");
        if (auth is not null && auth.Credentials is not null && auth.CredentialsFile is not null)
            throw source.Error(key + ".authorization", "at most one of credentials and credentials_file may be set");
    }

    /// <summary>The HTTP client settings of a section's authentication.</summary>
    public static HttpClientConfig Http(BasicAuthSection? basic, AuthorizationSection? auth) => new()
    {
        BasicAuth = basic is null ? null : new BasicAuthConfig(basic.Username, basic.Password, basic.PasswordFile),
        Authorization = auth is null ? null : new AuthorizationConfig(auth.Type, auth.Credentials, auth.CredentialsFile),
    };

    /// <summary>Files matching a pattern as Go's filepath.Glob: <c>*</c>, <c>?</c> and <c>[...]</c> within one path element; sorted.</summary>
    public static List<string> Glob(string pattern)
    {
        if (pattern.IndexOfAny(['*', '?', '[']) < 0) return File.Exists(pattern) ? [pattern] : [];
        var root = Path.GetPathRoot(pattern) ?? "/";
        var parts = pattern[root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries);
        var current = new List<string> { root };
        for (var i = 0; i < parts.Length; i++)
        {
            var last = i == parts.Length - 1;
            var next = new List<string>();
            var part = parts[i];
            if (part.IndexOfAny(['*', '?', '[']) < 0)
            {
                foreach (var c in current)
                {
                    var p = Path.Combine(c, part);
                    if (last ? File.Exists(p) : Directory.Exists(p)) next.Add(p);
                }
            }
            else
            {
                var re = new Regex("^" + GlobToRegex(part) + "$", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
                foreach (var c in current)
                {
                    if (!Directory.Exists(c)) continue;
                    var entries = last ? Directory.EnumerateFiles(c) : Directory.EnumerateDirectories(c);
                    next.AddRange(entries.Where(e => re.IsMatch(Path.GetFileName(e))));
                }
            }
            current = next;
        }
        current.Sort(StringComparer.Ordinal);
        return current;
    }

    private static string GlobToRegex(string part)
    {
        var sb = new System.Text.StringBuilder();
        for (var i = 0; i < part.Length; i++)
        {
            var ch = part[i];
            switch (ch)
            {
                case '*': sb.Append("[^/]*"); break;
                case '?': sb.Append("[^/]"); break;
                case '[':
                    var end = part.IndexOf(']', i + 1);
                    if (end < 0) throw new ArgumentException("syntax error in pattern");
                    var cls = part[(i + 1)..end];
                    if (cls.StartsWith('^')) cls = "!" + cls[1..];
                    sb.Append('[').Append(cls.StartsWith('!') ? "^" + Regex.Escape(cls[1..]) : Regex.Escape(cls).Replace("\\-", "-", StringComparison.Ordinal)).Append(']');
                    i = end;
                    break;
                case '\\' when i + 1 < part.Length:
                    sb.Append(Regex.Escape(part[++i].ToString()));
                    break;
                default: sb.Append(Regex.Escape(ch.ToString())); break;
            }
        }
        return sb.ToString();
    }
}
