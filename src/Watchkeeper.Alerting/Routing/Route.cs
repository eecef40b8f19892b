namespace Watchkeeper.Alerting.Routing;

/// <summary>A route's options after inheritance from its parent (Alertmanager's <c>RouteOpts</c>).</summary>
public sealed record RouteOpts(
    string Receiver,
    IReadOnlyList<string> GroupBy,
    bool GroupByAll,
    TimeSpan GroupWait,
    TimeSpan GroupInterval,
    TimeSpan RepeatInterval,
    IReadOnlyList<string> MuteTimeIntervals,
    IReadOnlyList<string> ActiveTimeIntervals)
{
    public static readonly TimeSpan DefaultGroupWait = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan DefaultGroupInterval = TimeSpan.FromMinutes(5);
    public static readonly TimeSpan DefaultRepeatInterval = TimeSpan.FromHours(4);

    /// <summary>The labels an alert is grouped by: the group_by labels it has, or all of them with <c>...</c>.</summary>
    public Dictionary<string, string> GroupLabels(IReadOnlyDictionary<string, string> labels)
    {
        var d = new Dictionary<string, string>(StringComparer.Ordinal);
        if (GroupByAll)
        {
            foreach (var (k, v) in labels) d[k] = v;
            return d;
        }
        foreach (var n in GroupBy)
            if (labels.TryGetValue(n, out var v) && v.Length > 0) d[n] = v;
        return d;
    }
}

/// <summary>A node of the routing tree with its inherited options.</summary>
public sealed class Route
{
    public Route? Parent { get; init; }
    public required Matchers Matchers { get; init; }
    public bool Continue { get; init; }
    public required RouteOpts Opts { get; init; }
    public IReadOnlyList<Route> Routes { get; set; } = [];
    /// <summary>Position among its siblings (0 for the root).</summary>
    public int Index { get; init; }

    /// <summary>Alertmanager's route key: the parent's key, '/', and this route's sorted matchers (<c>{}/{severity="critical"}</c>).</summary>
    public string Key => _key ??= (Parent is null ? "" : Parent.Key + "/") + Matchers;
    private string? _key;

    /// <summary>Alertmanager 0.27's route ID: the key plus the sibling index, unique even for routes with equal matchers.</summary>
    public string Id => _id ??= Parent is null ? Key : Parent.Id + "/" + Matchers + "/" + Index;
    private string? _id;

    /// <summary>
    /// The routes an alert goes to: depth first, the deepest matching routes; siblings after a match only when it has
    /// <c>continue: true</c>; the node itself when no child matches. Empty when this node does not match.
    /// </summary>
    public List<Route> Match(IReadOnlyDictionary<string, string> labels)
    {
        var all = new List<Route>();
        MatchInto(labels, all);
        return all;
    }

    private bool MatchInto(IReadOnlyDictionary<string, string> labels, List<Route> all)
    {
        if (!Matchers.Matches(labels)) return false;
        var before = all.Count;
        foreach (var child in Routes)
        {
            if (child.MatchInto(labels, all) && !child.Continue) break;
        }
        if (all.Count == before) all.Add(this);
        return true;
    }

    public IEnumerable<Route> Walk()
    {
        yield return this;
        foreach (var c in Routes)
            foreach (var r in c.Walk()) yield return r;
    }
}
