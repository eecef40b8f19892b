namespace Watchkeeper.Alerting.Alerts;

/// <summary>Label sets as Alertmanager uses them: name → value, fingerprinted with FNV-1a over the sorted pairs.</summary>
public static class LabelSets
{
    private const ulong Offset = 14695981039346656037UL;
    private const ulong Prime = 1099511628211UL;

    /// <summary>Alertmanager's <c>model.LabelSet.Fingerprint()</c>: FNV-1a 64 over name, 0xff, value, 0xff of the sorted pairs.</summary>
    public static ulong Fingerprint(IReadOnlyDictionary<string, string> labels)
    {
        var h = Offset;
        if (labels.Count == 0) return h;
        if (labels is LabelDictionary m)
        {
            // Already sorted by name.
            for (var j = 0; j < m.Count; j++)
            {
                h = Add(h, m.NameAt(j));
                h = (h ^ 0xff) * Prime;
                h = Add(h, m.ValueAt(j));
                h = (h ^ 0xff) * Prime;
            }
            return h;
        }
        var names = new string[labels.Count];
        var i = 0;
        foreach (var k in labels.Keys) names[i++] = k;
        Array.Sort(names, StringComparer.Ordinal);
        Span<byte> buf = stackalloc byte[256];
        foreach (var n in names)
        {
            h = Add(h, n, buf);
            h = (h ^ 0xff) * Prime;
            h = Add(h, labels[n], buf);
            h = (h ^ 0xff) * Prime;
        }
        return h;
    }

    /// <summary>FNV-1a over the UTF-8 bytes of <paramref name="s"/>; ASCII is hashed without encoding.</summary>
    internal static ulong Add(ulong h, string s)
    {
        if (!System.Text.Ascii.IsValid(s)) return Add(h, s, stackalloc byte[256]);
        foreach (var c in s) h = (h ^ c) * Prime;
        return h;
    }

    private static ulong Add(ulong h, string s, Span<byte> buf)
    {
        var bytes = System.Text.Encoding.UTF8.GetMaxByteCount(s.Length) <= buf.Length ? buf : new byte[System.Text.Encoding.UTF8.GetByteCount(s)];
        var n = System.Text.Encoding.UTF8.GetBytes(s, bytes);
        foreach (var b in bytes[..n]) h = (h ^ b) * Prime;
        return h;
    }

    public static string FormatFingerprint(ulong fp) => fp.ToString("x16", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Alertmanager's <c>LabelSet.String()</c>: <c>{a="b", c="d"}</c>, sorted by name.</summary>
    public static string Format(IReadOnlyDictionary<string, string> labels)
    {
        var sb = new System.Text.StringBuilder("{");
        var first = true;
        foreach (var (k, v) in labels is LabelDictionary m ? (IEnumerable<KeyValuePair<string, string>>)m : labels.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            if (!first) sb.Append(", ");
            first = false;
            sb.Append(k).Append('=').Append(Quote(v));
        }
        return sb.Append('}').ToString();
    }

    /// <summary>Go's <c>%q</c> for the strings label values hold.</summary>
    public static string Quote(string s)
    {
        var sb = new System.Text.StringBuilder(s.Length + 2).Append('"');
        foreach (var c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                default:
                    if (c < 0x20) sb.Append("\\x").Append(((int)c).ToString("x2", System.Globalization.CultureInfo.InvariantCulture));
                    else sb.Append(c);
                    break;
            }
        }
        return sb.Append('"').ToString();
    }

    public static IReadOnlyDictionary<string, string> Sorted(IEnumerable<KeyValuePair<string, string>> pairs) =>
        new SortedDictionary<string, string>(pairs.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal), StringComparer.Ordinal);
}

/// <summary>
/// An alert as Alertmanager holds it. <see cref="Timeout"/> is true when the sender gave no end time and
/// <see cref="EndsAt"/> is the receive time plus <c>resolve_timeout</c>.
/// </summary>
public sealed record Alert(
    IReadOnlyDictionary<string, string> Labels,
    IReadOnlyDictionary<string, string> Annotations,
    DateTimeOffset StartsAt,
    DateTimeOffset EndsAt,
    string GeneratorUrl,
    DateTimeOffset UpdatedAt,
    bool Timeout)
{
    public ulong Fingerprint { get; } = LabelSets.Fingerprint(Labels);

    public bool Resolved(DateTimeOffset now) => EndsAt <= now;

    /// <summary>Alertmanager's <c>Alert.Merge</c>: the younger alert wins, the earliest start stays, an explicit end beats a timeout.</summary>
    public Alert Merge(Alert o, DateTimeOffset now)
    {
        if (o.UpdatedAt < UpdatedAt) return o.Merge(this, now);
        var res = o;
        if (StartsAt < o.StartsAt) res = res with { StartsAt = StartsAt };
        if (o.Resolved(now))
        {
            if (Resolved(now) && EndsAt > o.EndsAt) res = res with { EndsAt = EndsAt };
        }
        else if (EndsAt > o.EndsAt && !Timeout)
        {
            res = res with { EndsAt = EndsAt, Timeout = false };
        }
        return res;
    }
}
