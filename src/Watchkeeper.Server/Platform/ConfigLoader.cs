using System.Globalization;
using System.Text.RegularExpressions;
using Watchkeeper.Metrics.Configuration;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Watchkeeper.Server.Platform;

/// <summary>
/// Loads <c>watchkeeper.yml</c>: parses the YAML once (YamlDotNet's representation model, which keeps line numbers),
/// binds Watchkeeper's sections with <see cref="ConfigBinder"/> and the Prometheus sections with the metrics engine's
/// binder from the same document, reads the files it names, and runs the section checks of <see cref="ConfigOptions"/>.
/// Every error is a <see cref="ConfigException"/> naming file, line and key.
/// </summary>
public static class ConfigLoader
{
    /// <summary>Top-level sections bound by the metrics engine (<see cref="Watchkeeper.Metrics.Scrape.MetricsConfigLoader"/>).</summary>
    public static readonly IReadOnlySet<string> MetricsSections = new HashSet<string>(StringComparer.Ordinal) { "global", "scrape_configs", "remote_write" };

    /// <summary>Top-level sections bound by other binders: the metrics engine's and Alertmanager's (<see cref="Watchkeeper.Alerting.Config.AlertmanagerConfigLoader"/>).</summary>
    public static readonly IReadOnlySet<string> ForeignSections = new HashSet<string>(MetricsSections.Concat(Watchkeeper.Alerting.Config.AlertmanagerConfigLoader.WatchkeeperSections), StringComparer.Ordinal);

    /// <summary>
    /// Sections of the formats Watchkeeper follows (and of its plan) that name features not built yet. Accepting them
    /// would let an operator believe, say, that alerts are routed; they are errors that say so instead.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> NotImplemented = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["remote_read"] = "remote read",
        ["capacity"] = "capacity forecasts",
        ["security"] = "security detections",
        ["slos"] = "SLOs",
        ["logs"] = "log ingestion",
    };

    public static WatchkeeperConfig Load(string path)
    {
        if (!File.Exists(path)) throw new ConfigException(path, 0, "", "file not found");
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException(path, 0, "", "cannot read the file: " + ex.Message, ex);
        }
        return Parse(text, path);
    }

    public static WatchkeeperConfig Parse(string text, string path)
    {
        var root = ParseYaml(text, path);
        var source = new ConfigSource(path, root);
        var config = new WatchkeeperConfig { SourcePath = Path.GetFullPath(path), Source = source, Text = text };
        var dir = Path.GetDirectoryName(config.SourcePath) ?? ".";

        var binder = new ConfigBinder(path) { ForeignKeys = ForeignSections, NotImplemented = NotImplemented };
        if (root is not null && !ConfigBinder.IsNull(root))
        {
            if (root is not YamlMappingNode map) throw binder.Error(root, "", "expected a mapping of sections");
            binder.BindObject(map, config, "");
            config.Metrics = Watchkeeper.Metrics.Scrape.MetricsConfigLoader.Bind(map, path, dir);
            config.Alertmanager = Watchkeeper.Alerting.Config.AlertmanagerConfigLoader.BindWatchkeeper(map, path, dir) ?? new();
        }

        var error = ConfigOptions.Check(config).FirstOrDefault();
        if (error is not null) throw source.Error(error.Key, error.Problem);
        ReadNamedFiles(config, source, dir);
        Rules.RulesConfigLoader.Load(config, source, dir);
        Dashboards.DashboardProvisioningLoader.Load(config, source, dir);
        return config;
    }

    /// <summary>The root node of the (first) document, or null for an empty file. Syntax errors name the key from the text.</summary>
    private static YamlNode? ParseYaml(string text, string path)
    {
        var scanner = new Scanner(new StringReader(text));
        try
        {
            var stream = new YamlStream();
            stream.Load(new Parser(scanner));
            return stream.Documents.Count > 0 ? stream.Documents[0].RootNode : null;
        }
        catch (YamlException ex)
        {
            // The document did not parse, so there is no node index: name the key from the text.
            throw new ConfigException(path, ex.Start.Line, KeyFromText(text, (int)ex.Start.Line), Clean(ex), ex);
        }
        catch (InvalidOperationException ex)
        {
            // YamlDotNet's scanner throws this for some malformed input (e.g. an unclosed '[' flow sequence).
            var line = (int)scanner.CurrentPosition.Line;
            throw new ConfigException(path, line, KeyFromText(text, line), "YAML syntax error: " + ex.Message, ex);
        }
    }

    private static void ReadNamedFiles(WatchkeeperConfig c, ConfigSource source, string dir)
    {
        foreach (var (kind, file) in c.Incidents.Checklists)
        {
            var key = $"incidents.checklists.{kind}";
            var full = Path.Combine(dir, file);
            if (!File.Exists(full)) throw source.Error(key, $"checklist file '{file}' not found");
            c.Checklists[kind] = ChecklistParser.Parse(File.ReadAllText(full), full);
        }
        var tpl = Path.Combine(dir, c.Incidents.StatusUpdateTemplate);
        if (!File.Exists(tpl)) throw source.Error("incidents.status_update_template", $"template file '{c.Incidents.StatusUpdateTemplate}' not found");
        c.StatusUpdateTemplate = File.ReadAllText(tpl);
        if (Incidents.StatusUpdateTemplate.Check(c.StatusUpdateTemplate) is { } tplError)
            throw source.Error("incidents.status_update_template", tplError);
    }

    private static string Clean(YamlException ex)
    {
        var msg = ex.InnerException?.Message ?? ex.Message;
        // YamlDotNet prefixes "(Line: x, Col: y, Idx: z) - (Line..): "; the position is reported separately.
        var i = msg.LastIndexOf("): ", StringComparison.Ordinal);
        msg = i >= 0 ? msg[(i + 3)..] : msg;
        return msg.StartsWith("Duplicate key ", StringComparison.Ordinal) ? $"duplicate key '{msg["Duplicate key ".Length..]}'" : msg;
    }

    /// <summary>
    /// The dotted key path of the mapping key on or before <paramref name="line"/>, from indentation alone;
    /// used when the YAML does not parse. Sequence items are numbered like the node index does.
    /// </summary>
    private static string KeyFromText(string text, int line)
    {
        var stack = new List<(int Indent, string Key, int Items)>();
        var lines = text.Split('\n');
        for (var i = 0; i < Math.Min(line, lines.Length); i++)
        {
            var raw = lines[i].TrimEnd('\r');
            var content = raw.TrimStart();
            if (content.Length == 0 || content.StartsWith('#')) continue;
            var indent = raw.Length - content.Length;
            if (content.StartsWith("- ", StringComparison.Ordinal) || content == "-")
            {
                while (stack.Count > 0 && stack[^1].Indent >= indent) stack.RemoveAt(stack.Count - 1);
                var n = 0;
                if (stack.Count > 0)
                {
                    n = stack[^1].Items;
                    stack[^1] = stack[^1] with { Items = n + 1 };
                }
                stack.Add((indent, $"[{n}]", 0));
                content = content[1..].TrimStart();
                indent = raw.Length - content.Length;
            }
            var colon = content.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0 || content[0] is '"' or '\'' or '[' or '{') continue;
            while (stack.Count > 0 && stack[^1].Indent >= indent) stack.RemoveAt(stack.Count - 1);
            stack.Add((indent, content[..colon].Trim(), 0));
        }
        var sb = new System.Text.StringBuilder();
        foreach (var (_, k, _) in stack)
        {
            if (sb.Length > 0 && !k.StartsWith('[')) sb.Append('.');
            sb.Append(k);
        }
        return sb.ToString();
    }
}

/// <summary>
/// Reads a checklist written as the seed writes it: <c>## Phase title (0-5 minutes)</c> headings
/// followed by <c>- [ ] item</c> lines. The parenthesis gives the phase's time window after detection.
/// </summary>
public static partial class ChecklistParser
{
    [GeneratedRegex(@"\((\d+)\s*(minutes?|mins?|hours?|h|m)?\s*-\s*(\d+)\s*(minutes?|mins?|hours?|h|m)\)\s*$", RegexOptions.IgnoreCase)]
    private static partial Regex Window();

    public static Checklist Parse(string text, string file)
    {
        var lines = text.Split('\n');
        string name = Path.GetFileNameWithoutExtension(file);
        var phases = new List<ChecklistPhase>();
        string? title = null;
        TimeSpan start = default, due = default;
        var items = new List<string>();
        int phaseLine = 0;

        void Flush()
        {
            if (title is null) return;
            if (items.Count == 0) throw new ConfigException(file, phaseLine, title, "phase has no '- [ ]' items");
            var key = Slug(title);
            phases.Add(new ChecklistPhase(key, title, start, due, items.ToArray()));
            items.Clear();
        }

        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].TrimEnd('\r').Trim();
            if (line.StartsWith("# ", StringComparison.Ordinal) && phases.Count == 0 && title is null)
            {
                name = line[2..].Trim();
            }
            else if (line.StartsWith("## ", StringComparison.Ordinal))
            {
                Flush();
                var heading = line[3..].Trim();
                var m = Window().Match(heading);
                if (!m.Success)
                    throw new ConfigException(file, i + 1, heading, "phase heading needs a time window such as '(0-5 minutes)' or '(4-24 hours)'");
                var unitB = m.Groups[4].Value;
                var unitA = m.Groups[2].Success && m.Groups[2].Value.Length > 0 ? m.Groups[2].Value : unitB;
                start = ToSpan(int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), unitA);
                due = ToSpan(int.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture), unitB);
                if (due <= start) throw new ConfigException(file, i + 1, heading, "phase window must end after it starts");
                title = heading[..m.Index].Trim();
                phaseLine = i + 1;
            }
            else if (line.StartsWith("- [", StringComparison.Ordinal))
            {
                if (title is null) throw new ConfigException(file, i + 1, line, "checklist item before the first '## phase' heading");
                var close = line.IndexOf(']', StringComparison.Ordinal);
                var item = close > 0 ? line[(close + 1)..].Trim() : "";
                if (item.Length == 0) throw new ConfigException(file, i + 1, line, "empty checklist item");
                items.Add(item);
            }
        }
        Flush();
        if (phases.Count == 0) throw new ConfigException(file, 1, "", "no phases found (expected '## Title (0-5 minutes)' headings)");
        return new Checklist(name, phases);
    }

    private static TimeSpan ToSpan(int n, string unit) =>
        unit.StartsWith('h') || unit.StartsWith('H') ? TimeSpan.FromHours(n) : TimeSpan.FromMinutes(n);

    public static string Slug(string s)
    {
        var chars = s.ToLowerInvariant().Select(ch => char.IsLetterOrDigit(ch) ? ch : '-').ToArray();
        return string.Join('-', new string(chars).Split('-', StringSplitOptions.RemoveEmptyEntries));
    }
}
