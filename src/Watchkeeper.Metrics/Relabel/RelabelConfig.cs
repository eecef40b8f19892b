using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Watchkeeper.Metrics.Model;

namespace Watchkeeper.Metrics.Relabel;

public enum RelabelAction
{
    Replace, Keep, Drop, KeepEqual, DropEqual, HashMod, LabelMap, LabelDrop, LabelKeep, Lowercase, Uppercase,
}

/// <summary>
/// One <c>relabel_config</c> entry. Defaults follow Prometheus: separator <c>;</c>, regex <c>(.*)</c>,
/// replacement <c>$1</c>, action <c>replace</c>. Build a <see cref="RelabelRule"/> with <see cref="Compile"/>.
/// </summary>
public sealed record RelabelConfig
{
    public const string DefaultRegex = "(.*)";
    public const string DefaultReplacement = "$1";
    public const string DefaultSeparator = ";";

    public IReadOnlyList<string> SourceLabels { get; init; } = [];
    public string Separator { get; init; } = DefaultSeparator;
    public string Regex { get; init; } = DefaultRegex;
    public ulong Modulus { get; init; }
    public string TargetLabel { get; init; } = "";
    public string Replacement { get; init; } = DefaultReplacement;
    public RelabelAction Action { get; init; } = RelabelAction.Replace;

    public static bool TryParseAction(string s, out RelabelAction action)
    {
        switch (s.ToLowerInvariant())
        {
            case "replace": action = RelabelAction.Replace; return true;
            case "keep": action = RelabelAction.Keep; return true;
            case "drop": action = RelabelAction.Drop; return true;
            case "keepequal": action = RelabelAction.KeepEqual; return true;
            case "dropequal": action = RelabelAction.DropEqual; return true;
            case "hashmod": action = RelabelAction.HashMod; return true;
            case "labelmap": action = RelabelAction.LabelMap; return true;
            case "labeldrop": action = RelabelAction.LabelDrop; return true;
            case "labelkeep": action = RelabelAction.LabelKeep; return true;
            case "lowercase": action = RelabelAction.Lowercase; return true;
            case "uppercase": action = RelabelAction.Uppercase; return true;
            default: action = RelabelAction.Replace; return false;
        }
    }

    /// <summary>Validates and compiles. Throws <see cref="ArgumentException"/> describing the first problem.</summary>
    public RelabelRule Compile()
    {
        Regex re;
        var (pattern, groups, _) = Re2Groups.Translate(Regex);
        try
        {
            re = new Regex("^(?:" + pattern + ")$", RegexOptions.CultureInvariant | RegexOptions.Singleline, TimeSpan.FromSeconds(1));
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"invalid regex \"{Regex}\": {e.Message}", e);
        }
        switch (Action)
        {
            case RelabelAction.Replace or RelabelAction.HashMod or RelabelAction.Lowercase or RelabelAction.Uppercase
                or RelabelAction.KeepEqual or RelabelAction.DropEqual when TargetLabel.Length == 0:
                throw new ArgumentException($"relabel action {Action.ToString().ToLowerInvariant()} requires target_label");
        }
        if (Action is RelabelAction.Replace && !IsValidTargetTemplate(TargetLabel))
            throw new ArgumentException($"\"{TargetLabel}\" is an invalid target_label for replace action");
        if (Action is RelabelAction.HashMod or RelabelAction.Lowercase or RelabelAction.Uppercase or RelabelAction.KeepEqual or RelabelAction.DropEqual
            && !LabelNames.IsValid(TargetLabel))
            throw new ArgumentException($"\"{TargetLabel}\" is an invalid target_label for {Action.ToString().ToLowerInvariant()} action");
        if (Action is RelabelAction.HashMod && Modulus == 0)
            throw new ArgumentException("relabel action hashmod requires a non-zero modulus");
        if (Action is RelabelAction.LabelMap && !IsValidTargetTemplate(Replacement))
            throw new ArgumentException($"\"{Replacement}\" is an invalid replacement for labelmap action");
        if (Action is RelabelAction.LabelDrop or RelabelAction.LabelKeep &&
            (SourceLabels.Count > 0 || TargetLabel.Length > 0 || Modulus != 0 || Separator != DefaultSeparator || Replacement != DefaultReplacement))
            throw new ArgumentException($"{Action.ToString().ToLowerInvariant()} action requires only 'regex', and no other fields");
        if (Action is RelabelAction.KeepEqual or RelabelAction.DropEqual &&
            (Regex != DefaultRegex || Modulus != 0 || Separator != DefaultSeparator || Replacement != DefaultReplacement))
            throw new ArgumentException($"{Action.ToString().ToLowerInvariant()} action requires only 'source_labels' and 'target_label', and no other fields");
        return new RelabelRule(this, re, groups);
    }

    private static bool IsValidTargetTemplate(string s)
    {
        // A template may contain $1, ${name}; what remains must be label-name characters.
        if (s.Length == 0) return false;
        foreach (var c in s)
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '$' or '{' or '}')) return false;
        return true;
    }
}

/// <summary>A compiled relabel rule.</summary>
public sealed class RelabelRule
{
    internal RelabelRule(RelabelConfig config, Regex regex, IReadOnlyDictionary<string, int> groupNames)
    {
        Config = config;
        Regex = regex;
        GroupNames = groupNames;
        SourceLabels = [.. config.SourceLabels];
    }

    public RelabelConfig Config { get; }
    internal Regex Regex { get; }
    internal IReadOnlyDictionary<string, int> GroupNames { get; }
    internal string[] SourceLabels { get; }
}

/// <summary>Label name rules shared by the parser, relabeling and remote write validation.</summary>
public static class LabelNames
{
    public static bool IsValid(ReadOnlySpan<char> name)
    {
        if (name.Length == 0) return false;
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            if (!(char.IsAsciiLetter(c) || c == '_' || (i > 0 && char.IsAsciiDigit(c)))) return false;
        }
        return true;
    }

    public static bool IsValidMetricName(ReadOnlySpan<char> name)
    {
        if (name.Length == 0) return false;
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            if (!(char.IsAsciiLetter(c) || c is '_' or ':' || (i > 0 && char.IsAsciiDigit(c)))) return false;
        }
        return true;
    }
}

/// <summary>Applies relabel rules to label sets with Prometheus semantics.</summary>
public static class Relabeler
{
    /// <summary>Applies the rules in order. Returns null when a rule drops the label set.</summary>
    public static Labels? Process(Labels labels, IReadOnlyList<RelabelRule> rules)
    {
        if (rules.Count == 0) return labels;
        var b = new LabelsBuilder(labels);
        for (var i = 0; i < rules.Count; i++)
            if (!Apply(b, rules[i])) return null;
        return b.Changed ? b.ToLabels() : labels;
    }

    /// <summary>Applies the rules to a builder in place. Returns false when the label set is dropped.</summary>
    public static bool Process(LabelsBuilder builder, IReadOnlyList<RelabelRule> rules)
    {
        for (var i = 0; i < rules.Count; i++)
            if (!Apply(builder, rules[i])) return false;
        return true;
    }

    private static bool Apply(LabelsBuilder b, RelabelRule rule)
    {
        var cfg = rule.Config;
        var val = JoinSources(b, rule.SourceLabels, cfg.Separator);
        switch (cfg.Action)
        {
            case RelabelAction.Drop:
                return !rule.Regex.IsMatch(val);
            case RelabelAction.Keep:
                return rule.Regex.IsMatch(val);
            case RelabelAction.DropEqual:
                return !string.Equals(val, b.Get(cfg.TargetLabel) ?? "", StringComparison.Ordinal);
            case RelabelAction.KeepEqual:
                return string.Equals(val, b.Get(cfg.TargetLabel) ?? "", StringComparison.Ordinal);
            case RelabelAction.Replace:
            {
                var m = rule.Regex.Match(val);
                if (!m.Success) return true;
                var target = Expand(rule.GroupNames, m, cfg.TargetLabel);
                if (!LabelNames.IsValid(target)) return true;
                var res = Expand(rule.GroupNames, m, cfg.Replacement);
                if (res.Length == 0) b.Delete(target);
                else b.Set(target, res);
                return true;
            }
            case RelabelAction.Lowercase:
                b.Set(cfg.TargetLabel, val.ToLowerInvariant());
                return true;
            case RelabelAction.Uppercase:
                b.Set(cfg.TargetLabel, val.ToUpperInvariant());
                return true;
            case RelabelAction.HashMod:
            {
                var mod = HashModValue(val) % cfg.Modulus;
                b.Set(cfg.TargetLabel, mod.ToString(System.Globalization.CultureInfo.InvariantCulture));
                return true;
            }
            case RelabelAction.LabelMap:
            {
                var snapshot = b.Snapshot();
                foreach (var l in snapshot)
                {
                    var m = rule.Regex.Match(l.Name);
                    if (!m.Success) continue;
                    var name = Expand(rule.GroupNames, m, cfg.Replacement);
                    if (LabelNames.IsValid(name)) b.Set(name, l.Value);
                }
                return true;
            }
            case RelabelAction.LabelDrop:
            {
                foreach (var l in b.Snapshot())
                    if (rule.Regex.IsMatch(l.Name)) b.Delete(l.Name);
                return true;
            }
            case RelabelAction.LabelKeep:
            {
                foreach (var l in b.Snapshot())
                    if (!rule.Regex.IsMatch(l.Name)) b.Delete(l.Name);
                return true;
            }
            default:
                return true;
        }
    }

    private static string JoinSources(LabelsBuilder b, string[] sources, string sep)
    {
        if (sources.Length == 0) return "";
        if (sources.Length == 1) return b.Get(sources[0]) ?? "";
        var sb = new StringBuilder();
        for (var i = 0; i < sources.Length; i++)
        {
            if (i > 0) sb.Append(sep);
            sb.Append(b.Get(sources[i]));
        }
        return sb.ToString();
    }

    /// <summary>The unsigned integer hashmod uses: the last 8 bytes of the MD5 digest, big-endian.</summary>
    public static ulong HashModValue(string value)
    {
        Span<byte> digest = stackalloc byte[16];
#pragma warning disable CA5351 // MD5 is what hashmod is defined with; it is not used for security.
        MD5.HashData(Encoding.UTF8.GetBytes(value), digest);
#pragma warning restore CA5351
        return System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(digest[8..]);
    }

    /// <summary>
    /// Expands a template with $1, ${1}, $name, ${name} and $$ against a match. A reference to a group that
    /// does not exist expands to the empty string. An unbraced name takes the longest run of letters,
    /// digits and underscores.
    /// </summary>
    internal static string Expand(IReadOnlyDictionary<string, int> names, Match m, string template)
    {
        if (template.IndexOf('$', StringComparison.Ordinal) < 0) return template;
        var sb = new StringBuilder(template.Length + 16);
        var i = 0;
        while (i < template.Length)
        {
            var c = template[i];
            if (c != '$' || i + 1 >= template.Length)
            {
                sb.Append(c);
                i++;
                continue;
            }
            var next = template[i + 1];
            if (next == '$')
            {
                sb.Append('$');
                i += 2;
                continue;
            }
            string? name = null;
            var end = i + 1;
            if (next == '{')
            {
                var close = template.IndexOf('}', i + 2);
                if (close > i + 2 && IsWordRun(template.AsSpan(i + 2, close - i - 2)))
                {
                    name = template.Substring(i + 2, close - i - 2);
                    end = close + 1;
                }
            }
            else
            {
                var j = i + 1;
                while (j < template.Length && (char.IsAsciiLetterOrDigit(template[j]) || template[j] == '_')) j++;
                if (j > i + 1)
                {
                    name = template.Substring(i + 1, j - i - 1);
                    end = j;
                }
            }
            if (name is null)
            {
                sb.Append('$');
                i++;
                continue;
            }
            sb.Append(GroupValue(names, m, name));
            i = end;
        }
        return sb.ToString();
    }

    private static bool IsWordRun(ReadOnlySpan<char> s)
    {
        foreach (var c in s)
            if (!(char.IsAsciiLetterOrDigit(c) || c == '_')) return false;
        return true;
    }

    private static string GroupValue(IReadOnlyDictionary<string, int> names, Match m, string name)
    {
        if (!int.TryParse(name, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n)
            && !names.TryGetValue(name, out n))
            return "";
        // The pattern is wrapped as ^(?:...)$, which adds no capturing groups.
        return n < m.Groups.Count && m.Groups[n].Success ? m.Groups[n].Value : "";
    }
}
