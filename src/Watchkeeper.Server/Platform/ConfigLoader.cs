using System.Globalization;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Watchkeeper.Server.Platform;

/// <summary>A configuration error: names the file, the line and the key.</summary>
public sealed class ConfigException(string file, int line, string key, string problem)
    : Exception($"{file}:{line}:{key}: {problem}")
{
    public string File { get; } = file;
    public int Line { get; } = line;
    public string Key { get; } = key;
    public string Problem { get; } = problem;
}

/// <summary>Loads and validates <c>watchkeeper.yml</c> and the files it names.</summary>
public static partial class ConfigLoader
{
    private static readonly IDeserializer Deserializer = new DeserializerBuilder()
        .WithNamingConvention(UnderscoredNamingConvention.Instance)
        .WithTypeConverter(new DurationConverter())
        .Build();

    public static WatchkeeperConfig Load(string path)
    {
        if (!File.Exists(path)) throw new ConfigException(path, 0, "", "file not found");
        var text = File.ReadAllText(path);
        return Parse(text, path);
    }

    public static WatchkeeperConfig Parse(string text, string path)
    {
        var index = new Dictionary<string, Mark>(StringComparer.Ordinal);
        var scanner = new Scanner(new StringReader(text));
        try
        {
            var stream = new YamlStream();
            stream.Load(new Parser(scanner));
            if (stream.Documents.Count > 0) IndexNode(stream.Documents[0].RootNode, "", index);
        }
        catch (YamlException ex)
        {
            // The document did not parse, so there is no node index: name the key from the text.
            throw new ConfigException(path, (int)ex.Start.Line, KeyFromText(text, (int)ex.Start.Line), Clean(ex));
        }
        catch (InvalidOperationException ex)
        {
            // YamlDotNet's scanner throws this for some malformed input (e.g. an unclosed '[' flow sequence).
            var line = (int)scanner.CurrentPosition.Line;
            throw new ConfigException(path, line, KeyFromText(text, line), "YAML syntax error: " + ex.Message);
        }

        WatchkeeperConfig config;
        try
        {
            config = Deserializer.Deserialize<WatchkeeperConfig?>(text) ?? new WatchkeeperConfig();
        }
        catch (YamlException ex)
        {
            throw new ConfigException(path, (int)ex.Start.Line, KeyAt(index, ex.Start), Clean(ex));
        }
        config.SourcePath = Path.GetFullPath(path);
        try
        {
            config.Metrics = Watchkeeper.Metrics.Scrape.MetricsConfigLoader.Load(text, path, Path.GetDirectoryName(config.SourcePath));
        }
        catch (Watchkeeper.Metrics.Scrape.ConfigException ex)
        {
            throw new ConfigException(path, (int)ex.Line, ex.Key, ex.Reason);
        }
        Validate(config, path, index);
        return config;
    }

    private static string Clean(YamlException ex)
    {
        var msg = ex.InnerException?.Message ?? ex.Message;
        var m = UnknownProperty().Match(msg);
        if (m.Success) return $"unknown key '{m.Groups[1].Value}'";
        // YamlDotNet prefixes "(Line: x, Col: y, Idx: z) - (Line..): "; the position is reported separately.
        var i = msg.LastIndexOf("): ", StringComparison.Ordinal);
        return i >= 0 ? msg[(i + 3)..] : msg;
    }

    [GeneratedRegex(@"Property '([^']+)' not found on type")]
    private static partial Regex UnknownProperty();

    private static void IndexNode(YamlNode node, string path, Dictionary<string, Mark> index)
    {
        index.TryAdd(path, node.Start);
        switch (node)
        {
            case YamlMappingNode map:
                foreach (var (k, v) in map.Children)
                {
                    var key = k is YamlScalarNode s ? s.Value ?? "" : "?";
                    var child = path.Length == 0 ? key : path + "." + key;
                    index.TryAdd(child + "#key", k.Start);
                    IndexNode(v, child, index);
                }
                break;
            case YamlSequenceNode seq:
                for (var i = 0; i < seq.Children.Count; i++) IndexNode(seq.Children[i], $"{path}[{i}]", index);
                break;
        }
    }

    private static string KeyAt(Dictionary<string, Mark> index, Mark mark)
    {
        // The deepest key whose node (or the key itself: an unknown key is reported at the key) starts at or
        // before the error, on the same or an earlier line.
        string best = "";
        var bestMark = new Mark();
        foreach (var (entry, m) in index)
        {
            var k = entry.EndsWith("#key", StringComparison.Ordinal) ? entry[..^4] : entry;
            if (m.Line < mark.Line || (m.Line == mark.Line && m.Column <= mark.Column))
            {
                if (m.Line > bestMark.Line || (m.Line == bestMark.Line && k.Length > best.Length))
                {
                    best = k;
                    bestMark = m;
                }
            }
        }
        return best;
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

    /// <summary>The line of a key; for a key that is missing, the line of the nearest entry that holds it.</summary>
    private static int LineOf(Dictionary<string, Mark> index, string key)
    {
        for (var k = key; ;)
        {
            if (index.TryGetValue(k, out var m) || index.TryGetValue(k + "#key", out m)) return (int)m.Line;
            var cut = Math.Max(k.LastIndexOf('.'), k.LastIndexOf('['));
            if (cut <= 0) return 0;
            k = k[..cut];
        }
    }

    private static void Validate(WatchkeeperConfig c, string path, Dictionary<string, Mark> index)
    {
        void Fail(string key, string problem) => throw new ConfigException(path, LineOf(index, key), key, problem);

        if (c.Severities.Count == 0) Fail("severities", "at least one severity is required (e.g. SEV1-SEV4)");
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < c.Severities.Count; i++)
        {
            var s = c.Severities[i];
            var k = $"severities[{i}]";
            if (string.IsNullOrWhiteSpace(s.Id)) Fail(k + ".id", "severity id is required");
            if (!seen.Add(s.Id)) Fail(k + ".id", $"duplicate severity id '{s.Id}'");
            if (s.ResponseTime.Value <= TimeSpan.Zero) Fail(k + ".response_time", "must be a positive duration");
            if (s.ResolutionTime.Value <= TimeSpan.Zero) Fail(k + ".resolution_time", "must be a positive duration");
            if (s.ResolutionTime.Value < s.ResponseTime.Value) Fail(k + ".resolution_time", "must not be shorter than response_time");
            if (s.UpdateInterval.Value <= TimeSpan.Zero) Fail(k + ".update_interval", "must be a positive duration");
        }

        var dir = Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".";
        foreach (var (kind, file) in c.Incidents.Checklists)
        {
            var key = $"incidents.checklists.{kind}";
            var full = Path.Combine(dir, file);
            if (!File.Exists(full)) Fail(key, $"checklist file '{file}' not found");
            c.Checklists[kind] = ChecklistParser.Parse(File.ReadAllText(full), full);
        }
        if (!c.Checklists.ContainsKey("operational")) Fail("incidents.checklists", "an 'operational' checklist is required");
        if (string.IsNullOrWhiteSpace(c.Incidents.StatusUpdateTemplate))
        {
            Fail("incidents.status_update_template", "a status update template file is required");
        }
        var tpl = Path.Combine(dir, c.Incidents.StatusUpdateTemplate);
        if (!File.Exists(tpl)) Fail("incidents.status_update_template", $"template file '{c.Incidents.StatusUpdateTemplate}' not found");
        c.StatusUpdateTemplate = File.ReadAllText(tpl);
        if (c.Storage.Postgres is { } pg && string.IsNullOrWhiteSpace(pg.ConnectionString))
            Fail("storage.postgres.connection_string", "must be set when storage.postgres is present");
        if (c.Auth.LoginAttemptsPerMinute <= 0) Fail("auth.login_attempts_per_minute", "must be positive");
        if (c.Audit.CheckpointEvery <= 0) Fail("audit.checkpoint_every", "must be positive");
        if (c.Storage.Tsdb.Retention.Value <= TimeSpan.Zero) Fail("storage.tsdb.retention", "must be a positive duration");
        if (c.Storage.Tsdb.MaxBytes < 0) Fail("storage.tsdb.max_bytes", "must not be negative");
        if (c.Storage.Tsdb.QueryMaxSamples <= 0) Fail("storage.tsdb.query_max_samples", "must be positive");
        if (c.Storage.Tsdb.QueryMaxConcurrency <= 0) Fail("storage.tsdb.query_max_concurrency", "must be positive");
        for (var i = 0; i < c.Demo.Services.Count; i++)
        {
            var s = c.Demo.Services[i];
            if (s is not ("api-service" or "web-interface"))
                Fail($"demo.services[{i}]", $"'{s}' is not a demo service; the demo simulates api-service and web-interface");
        }
    }

    private sealed class DurationConverter : IYamlTypeConverter
    {
        public bool Accepts(Type type) => type == typeof(Duration);

        public object? ReadYaml(IParser parser, Type type, ObjectDeserializer rootDeserializer)
        {
            var scalar = parser.Consume<Scalar>();
            if (!Duration.TryParse(scalar.Value, out var d))
                throw new YamlException(scalar.Start, scalar.End, $"invalid duration \"{scalar.Value}\" (use e.g. 30s, 5m, 1h30m, 2d)");
            return d;
        }

        public void WriteYaml(IEmitter emitter, object? value, Type type, ObjectSerializer serializer) =>
            emitter.Emit(new Scalar(((Duration)value!).ToString()));
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
