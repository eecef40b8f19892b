namespace Watchkeeper.Metrics.Configuration;

/// <summary>Helpers shared by the configuration binders: the "unknown key" message with the closest valid key.</summary>
public static class ConfigKeys
{
    /// <summary><c>unknown key 'scrape_intervl' (did you mean 'scrape_interval'?)</c>; without a suggestion when nothing is close.</summary>
    public static string Unknown(string key, IEnumerable<string> valid)
    {
        var best = Closest(key, valid);
        return best is null ? $"unknown key '{key}'" : $"unknown key '{key}' (did you mean '{best}'?)";
    }

    /// <summary>The valid key closest to <paramref name="key"/> by edit distance, if it is close enough to be a typo.</summary>
    public static string? Closest(string key, IEnumerable<string> valid)
    {
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var v in valid)
        {
            var d = Distance(key.ToLowerInvariant(), v);
            if (d < bestDistance || (d == bestDistance && best is not null && string.CompareOrdinal(v, best) < 0))
            {
                best = v;
                bestDistance = d;
            }
        }
        // A typo: a few edits, and fewer than half the key's length (so "x" is not "did you mean 'id'?").
        var limit = Math.Min(3, Math.Max(1, key.Length / 3));
        return best is not null && bestDistance <= limit ? best : null;
    }

    /// <summary>Optimal string alignment distance: insertions, deletions, substitutions and adjacent transpositions.</summary>
    public static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (var j = 0; j <= b.Length; j++) d[0, j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                var v = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) v = Math.Min(v, d[i - 2, j - 2] + 1);
                d[i, j] = v;
            }
        }
        return d[a.Length, b.Length];
    }
}
