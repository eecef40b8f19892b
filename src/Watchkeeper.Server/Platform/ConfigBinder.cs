using System.Collections;
using System.Globalization;
using System.Reflection;
using Watchkeeper.Metrics.Configuration;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Watchkeeper.Server.Platform;

/// <summary>
/// Where each key of a parsed configuration file is: the line of every key path (<c>severities[1].response_time</c>),
/// so errors found after binding (by the section validators) still name file, line and key.
/// </summary>
public sealed class ConfigSource
{
    private readonly Dictionary<string, Mark> _index = new(StringComparer.Ordinal);

    public ConfigSource(string file, YamlNode? root)
    {
        File = file;
        if (root is not null) Index(root, "");
    }

    /// <summary>The file as given (relative paths stay relative, as the operator wrote them).</summary>
    public string File { get; }

    /// <summary>The line of a key; for a key that is missing, the line of the nearest entry that holds it; 0 if none.</summary>
    public int LineOf(string key)
    {
        for (var k = key; ;)
        {
            if (_index.TryGetValue(k + "#key", out var m) || _index.TryGetValue(k, out m)) return (int)m.Line;
            var cut = Math.Max(k.LastIndexOf('.'), k.LastIndexOf('['));
            if (cut <= 0) return 0;
            k = k[..cut];
        }
    }

    /// <summary>The dotted key path of the deepest node starting at or before <paramref name="mark"/>.</summary>
    public string KeyAt(Mark mark)
    {
        string best = "";
        var bestMark = new Mark();
        foreach (var (entry, m) in _index)
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

    public ConfigException Error(string key, string problem) => new(File, LineOf(key), key, problem);

    /// <summary><c>file:line:key: problem</c>, the form every configuration error takes.</summary>
    public string Describe(string key, string problem) => $"{File}:{LineOf(key)}:{key}: {problem}";

    private void Index(YamlNode node, string path)
    {
        _index.TryAdd(path, node.Start);
        switch (node)
        {
            case YamlMappingNode map:
                foreach (var (k, v) in map.Children)
                {
                    var key = k is YamlScalarNode s ? s.Value ?? "" : "?";
                    var child = path.Length == 0 ? key : path + "." + key;
                    _index.TryAdd(child + "#key", k.Start);
                    Index(v, child);
                }
                break;
            case YamlSequenceNode seq:
                for (var i = 0; i < seq.Children.Count; i++) Index(seq.Children[i], $"{path}[{i}]");
                break;
        }
    }
}

/// <summary>
/// Binds a YAML node (YamlDotNet's representation model, which keeps line numbers) onto a typed object: properties
/// by their snake_case names, nested sections, lists and maps, scalars (string, bool, integers, <see cref="Duration"/>,
/// <see cref="TimeSpan"/>, <see cref="Uri"/>, enums). Every error names file, line and key; an unknown key names
/// the closest valid key. Properties marked <see cref="YamlIgnoreAttribute"/> are filled after binding, never from YAML.
/// </summary>
public sealed class ConfigBinder(string file)
{
    private static readonly INamingConvention Names = UnderscoredNamingConvention.Instance;

    /// <summary>Keys the binder must skip at the top level (sections another binder owns).</summary>
    public IReadOnlySet<string> ForeignKeys { get; init; } = new HashSet<string>();

    /// <summary>Keys that name features the product does not have yet, with the feature's name for the error.</summary>
    public IReadOnlyDictionary<string, string> NotImplemented { get; init; } = new Dictionary<string, string>();

    public ConfigException Error(YamlNode node, string key, string problem) => new(file, node.Start.Line, key, problem);

    /// <summary>The YAML key names of <paramref name="type"/>'s bindable properties.</summary>
    public static IReadOnlyList<string> KeysOf(Type type) => [.. Properties(type).Select(p => p.Key)];

    public void BindObject(YamlNode node, object target, string path)
    {
        if (IsNull(node)) return;
        if (node is not YamlMappingNode map) throw Error(node, path, $"expected a mapping of keys, got {Describe(node)}");
        var props = Properties(target.GetType());
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (k, v) in map.Children)
        {
            if (k is not YamlScalarNode { Value: { } key }) throw Error(k, path, "expected a plain key");
            var keyPath = path.Length == 0 ? key : path + "." + key;
            if (!seen.Add(key)) throw Error(k, keyPath, $"duplicate key '{key}'");
            if (path.Length == 0 && ForeignKeys.Contains(key)) continue;
            var prop = props.FirstOrDefault(p => p.Key == key);
            if (prop.Property is null)
            {
                if (path.Length == 0 && NotImplemented.TryGetValue(key, out var feature))
                    throw Error(k, keyPath, $"{feature} is not implemented yet (see docs/configuration.md)");
                var valid = props.Select(p => p.Key);
                if (path.Length == 0) valid = valid.Concat(ForeignKeys);
                throw Error(k, keyPath, ConfigKeys.Unknown(key, valid));
            }
            var current = prop.Property.GetValue(target);
            prop.Property.SetValue(target, Bind(v, prop.Property.PropertyType, keyPath, current, Nullable(prop.Property)));
        }
    }

    private object? Bind(YamlNode node, Type type, string path, object? current, bool nullable)
    {
        var underlying = System.Nullable.GetUnderlyingType(type);
        if (underlying is not null)
        {
            if (IsNull(node)) return null;
            type = underlying;
        }
        if (type == typeof(string)) return IsNull(node) ? (nullable ? null : "") : Scalar(node, path, "a string");
        if (type == typeof(bool))
        {
            return Scalar(node, path, "true or false") switch
            {
                "true" or "True" or "TRUE" => true,
                "false" or "False" or "FALSE" => false,
                var x => throw Error(node, path, $"expected true or false, got \"{x}\""),
            };
        }
        if (type == typeof(int))
        {
            var s = Scalar(node, path, "an integer");
            return int.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var i) ? i : throw Error(node, path, $"expected an integer, got \"{s}\"");
        }
        if (type == typeof(long))
        {
            var s = Scalar(node, path, "an integer");
            return long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l) ? l : throw Error(node, path, $"expected an integer, got \"{s}\"");
        }
        if (type == typeof(double))
        {
            var s = Scalar(node, path, "a number");
            return double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d) ? d : throw Error(node, path, $"expected a number, got \"{s}\"");
        }
        if (type == typeof(Duration) || type == typeof(TimeSpan))
        {
            var s = Scalar(node, path, "a duration");
            if (!Duration.TryParse(s, out var d)) throw Error(node, path, $"invalid duration \"{s}\" (use e.g. 30s, 5m, 1h30m, 2d)");
            return type == typeof(Duration) ? (object)d : d.Value;
        }
        if (type == typeof(Uri))
        {
            var s = Scalar(node, path, "a URL");
            if (s.Length == 0 && nullable) return null;
            return Uri.TryCreate(s, UriKind.Absolute, out var u) && u.Scheme is "http" or "https"
                ? u
                : throw Error(node, path, $"\"{s}\" is not an absolute http(s) URL");
        }
        if (type.IsEnum)
        {
            var s = Scalar(node, path, "one of " + string.Join(", ", EnumNames(type)));
            var match = Enum.GetNames(type).FirstOrDefault(n => Names.Apply(n) == s || string.Equals(n, s, StringComparison.OrdinalIgnoreCase));
            return match is not null ? Enum.Parse(type, match) : throw Error(node, path, $"expected one of {string.Join(", ", EnumNames(type))}, got \"{s}\"");
        }
        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(List<>))
        {
            var list = (IList)Activator.CreateInstance(type)!;
            if (IsNull(node)) return list;
            if (node is not YamlSequenceNode seq) throw Error(node, path, $"expected a list, got {Describe(node)}");
            var item = type.GetGenericArguments()[0];
            for (var i = 0; i < seq.Children.Count; i++) list.Add(Bind(seq.Children[i], item, $"{path}[{i}]", null, false));
            return list;
        }
        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(Dictionary<,>) && type.GetGenericArguments()[0] == typeof(string))
        {
            var dict = (IDictionary)Activator.CreateInstance(type, StringComparer.Ordinal)!;
            if (IsNull(node)) return dict;
            if (node is not YamlMappingNode map) throw Error(node, path, $"expected a mapping, got {Describe(node)}");
            var value = type.GetGenericArguments()[1];
            foreach (var (k, v) in map.Children)
            {
                if (k is not YamlScalarNode { Value: { } key }) throw Error(k, path, "expected a plain key");
                var keyPath = path + "." + key;
                if (dict.Contains(key)) throw Error(k, keyPath, $"duplicate key '{key}'");
                dict[key] = Bind(v, value, keyPath, null, false);
            }
            return dict;
        }
        if (type.IsClass)
        {
            if (IsNull(node)) return nullable ? null : current ?? Activator.CreateInstance(type);
            var target = current ?? Activator.CreateInstance(type)
                ?? throw new InvalidOperationException($"{type} has no parameterless constructor");
            BindObject(node, target, path);
            return target;
        }
        throw new InvalidOperationException($"configuration property type {type} is not supported by the binder");
    }

    private string Scalar(YamlNode node, string path, string expected)
    {
        if (node is YamlScalarNode s) return s.Value ?? "";
        throw Error(node, path, $"expected {expected}, got {Describe(node)}");
    }

    private static IEnumerable<string> EnumNames(Type t) => Enum.GetNames(t).Select(Names.Apply);

    private static string Describe(YamlNode n) => n switch
    {
        YamlMappingNode => "a mapping",
        YamlSequenceNode => "a list",
        YamlScalarNode s => $"\"{s.Value}\"",
        _ => "a value",
    };

    public static bool IsNull(YamlNode n) =>
        n is YamlScalarNode { Style: ScalarStyle.Plain or ScalarStyle.Any } s && s.Value is null or "" or "~" or "null" or "Null" or "NULL";

    private static bool Nullable(PropertyInfo p) => new NullabilityInfoContext().Create(p).WriteState == NullabilityState.Nullable;

    private static List<(string Key, PropertyInfo Property)> Properties(Type type) =>
        [.. type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanWrite && p.GetIndexParameters().Length == 0 && p.GetCustomAttribute<YamlIgnoreAttribute>() is null)
            .Select(p => (p.GetCustomAttribute<YamlMemberAttribute>()?.Alias ?? Names.Apply(p.Name), p))];
}
