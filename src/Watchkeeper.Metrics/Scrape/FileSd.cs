using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Watchkeeper.Metrics.Scrape;

/// <summary>
/// File-based discovery: reads JSON or YAML lists of <c>{targets: [...], labels: {...}}</c> from files whose last
/// path element may be a <c>*</c> pattern. A file that fails to parse keeps its previous groups and records the error.
/// </summary>
public sealed class FileSd(FileSdConfig config)
{
    public const string FilePathLabel = "__meta_filepath";

    private readonly Dictionary<string, List<TargetGroup>> _byFile = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _errors = new(StringComparer.Ordinal);

    public FileSdConfig Config { get; } = config;

    /// <summary>Errors of the last read, by file.</summary>
    public IReadOnlyDictionary<string, string> Errors => _errors;

    /// <summary>The directories to watch.</summary>
    public IEnumerable<string> Directories => Config.Files.Select(f => Path.GetDirectoryName(f)!).Distinct(StringComparer.Ordinal);

    /// <summary>Re-reads every matching file and returns all groups.</summary>
    public IReadOnlyList<TargetGroup> Read()
    {
        var present = new HashSet<string>(StringComparer.Ordinal);
        foreach (var pattern in Config.Files)
        {
            foreach (var file in Expand(pattern))
            {
                present.Add(file);
                try
                {
                    var text = File.ReadAllText(file);
                    _byFile[file] = file.EndsWith(".json", StringComparison.OrdinalIgnoreCase) ? ParseJson(text, file) : Parse(text, file);
                    _errors.Remove(file);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or YamlException or System.Text.Json.JsonException)
                {
                    _errors[file] = e.Message;
                }
            }
        }
        foreach (var gone in _byFile.Keys.Where(k => !present.Contains(k)).ToList()) _byFile.Remove(gone);
        foreach (var gone in _errors.Keys.Where(k => !present.Contains(k)).ToList()) _errors.Remove(gone);
        return [.. _byFile.OrderBy(kv => kv.Key, StringComparer.Ordinal).SelectMany(kv => kv.Value)];
    }

    private static IEnumerable<string> Expand(string pattern)
    {
        var dir = Path.GetDirectoryName(pattern)!;
        var name = Path.GetFileName(pattern);
        if (!name.Contains('*', StringComparison.Ordinal) && !name.Contains('?', StringComparison.Ordinal))
            return File.Exists(pattern) ? [pattern] : [];
        if (!Directory.Exists(dir)) return [];
        return Directory.EnumerateFiles(dir, name).Order(StringComparer.Ordinal);
    }

    /// <summary>Parses a JSON file: <c>[{"targets": [...], "labels": {...}}]</c>.</summary>
    public static List<TargetGroup> ParseJson(string content, string file)
    {
        using var doc = System.Text.Json.JsonDocument.Parse(content, new System.Text.Json.JsonDocumentOptions { AllowTrailingCommas = true });
        if (doc.RootElement.ValueKind != System.Text.Json.JsonValueKind.Array) throw new FormatException($"{file}: expected a list of target groups");
        var groups = new List<TargetGroup>();
        var i = 0;
        foreach (var g in doc.RootElement.EnumerateArray())
        {
            if (g.ValueKind != System.Text.Json.JsonValueKind.Object) throw new FormatException($"{file}: group {i} is not an object");
            var targets = new List<string>();
            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var p in g.EnumerateObject())
            {
                switch (p.Name)
                {
                    case "targets":
                        if (p.Value.ValueKind != System.Text.Json.JsonValueKind.Array) throw new FormatException($"{file}: group {i}: targets must be a list");
                        foreach (var t in p.Value.EnumerateArray())
                            targets.Add(t.ValueKind == System.Text.Json.JsonValueKind.String ? t.GetString()! : throw new FormatException($"{file}: group {i}: target must be a string"));
                        break;
                    case "labels":
                        if (p.Value.ValueKind == System.Text.Json.JsonValueKind.Null) break;
                        if (p.Value.ValueKind != System.Text.Json.JsonValueKind.Object) throw new FormatException($"{file}: group {i}: labels must be an object");
                        foreach (var l in p.Value.EnumerateObject())
                        {
                            if (!Relabel.LabelNames.IsValid(l.Name)) throw new FormatException($"{file}: group {i}: \"{l.Name}\" is not a valid label name");
                            labels[l.Name] = l.Value.ValueKind == System.Text.Json.JsonValueKind.String ? l.Value.GetString()! : throw new FormatException($"{file}: group {i}: label values must be strings");
                        }
                        break;
                    default:
                        throw new FormatException($"{file}: group {i}: unknown key \"{p.Name}\"");
                }
            }
            labels[FilePathLabel] = file;
            groups.Add(new TargetGroup(targets, labels, $"file:{file}:{i++}"));
        }
        return groups;
    }

    /// <summary>Parses one YAML file's content.</summary>
    public static List<TargetGroup> Parse(string content, string file)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(content));
        var groups = new List<TargetGroup>();
        if (stream.Documents.Count == 0) return groups;
        var root = stream.Documents[0].RootNode;
        if (root is YamlScalarNode { Value: null or "" }) return groups;
        if (root is not YamlSequenceNode seq) throw new FormatException($"{file}:{root.Start.Line}: expected a list of target groups");
        var i = 0;
        foreach (var item in seq.Children)
        {
            if (item is not YamlMappingNode m) throw new FormatException($"{file}:{item.Start.Line}: expected a target group mapping");
            var targets = new List<string>();
            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (k, v) in m.Children)
            {
                var key = (k as YamlScalarNode)?.Value;
                switch (key)
                {
                    case "targets":
                        if (v is not YamlSequenceNode ts) throw new FormatException($"{file}:{v.Start.Line}: targets must be a list");
                        foreach (var t in ts.Children)
                            targets.Add((t as YamlScalarNode)?.Value ?? throw new FormatException($"{file}:{t.Start.Line}: target must be a string"));
                        break;
                    case "labels":
                        if (v is YamlScalarNode { Value: null or "" }) break;
                        if (v is not YamlMappingNode lm) throw new FormatException($"{file}:{v.Start.Line}: labels must be a mapping");
                        foreach (var (lk, lv) in lm.Children)
                        {
                            var name = (lk as YamlScalarNode)?.Value ?? "";
                            if (!Relabel.LabelNames.IsValid(name)) throw new FormatException($"{file}:{lk.Start.Line}: \"{name}\" is not a valid label name");
                            labels[name] = (lv as YamlScalarNode)?.Value ?? "";
                        }
                        break;
                    default:
                        throw new FormatException($"{file}:{k.Start.Line}: unknown key \"{key}\"");
                }
            }
            labels[FilePathLabel] = file;
            groups.Add(new TargetGroup(targets, labels, $"file:{file}:{i++}"));
        }
        return groups;
    }
}
