namespace Watchkeeper.Metrics.Rules;

/// <summary>
/// Runs rule groups, each on its own loop at its interval, aligned to its slot (<see cref="RuleGroup.EvalTimestamp"/>).
/// <see cref="Update"/> swaps in a new set of groups: a group with the same file and name takes over its predecessor's
/// alerts and series; groups that are gone stop and their series get stale markers. Groups loaded by the first update
/// restore the <c>for</c> state after their second evaluation, as Prometheus does after a restart.
/// </summary>
public sealed class RuleManager(RuleEvalContext context) : IAsyncDisposable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Running> _groups = new(StringComparer.Ordinal);
    private bool _started;
    private bool _disposed;

    public RuleEvalContext Context { get; private set; } = context;

    private sealed record Running(RuleGroup Group, CancellationTokenSource Stop, Task Loop);

    /// <summary>The running groups, in file and then file order.</summary>
    public IReadOnlyList<RuleGroup> Groups
    {
        get
        {
            lock (_lock) return [.. _groups.Values.Select(r => r.Group).OrderBy(g => g.File, StringComparer.Ordinal).ThenBy(g => g.Def.Line)];
        }
    }

    /// <summary>Replaces the running groups with those of <paramref name="files"/>; optionally a new context (sink, querier, settings).</summary>
    public async Task UpdateAsync(IReadOnlyList<RuleFileDef> files, TimeSpan evaluationInterval, TimeSpan queryOffset, RuleEvalContext? context = null)
    {
        List<Running> stopped = [];
        List<RuleGroup> removed = [];
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (context is not null) Context = context;
            var first = !_started;
            _started = true;
            var next = new Dictionary<string, Running>(StringComparer.Ordinal);
            foreach (var f in files)
            {
                foreach (var def in f.Groups)
                {
                    var g = new RuleGroup(def, evaluationInterval, queryOffset) { ShouldRestore = first };
                    foreach (var r in g.Rules.OfType<AlertingRule>()) r.Restored = !first;
                    if (_groups.TryGetValue(g.Key, out var old))
                    {
                        stopped.Add(old);
                        _groups.Remove(g.Key);
                        // The old loop is stopped before the state moves, so no evaluation runs on both.
                        _pending.Add((g, old.Group));
                    }
                    if (!next.TryAdd(g.Key, new Running(g, new CancellationTokenSource(), Task.CompletedTask)))
                        throw new InvalidOperationException($"rule group {def.Name} appears twice in {def.File}");
                }
            }
            foreach (var (_, old) in _groups)
            {
                stopped.Add(old);
                removed.Add(old.Group);
            }
            _groups.Clear();
            foreach (var (k, v) in next) _groups[k] = v;
        }
        foreach (var s in stopped) await StopAsync(s).ConfigureAwait(false);
        var now = Context.Time.GetUtcNow();
        foreach (var g in removed) g.MarkStale(now, Context);
        lock (_lock)
        {
            foreach (var (g, old) in _pending)
            {
                g.CopyStateFrom(old);
                old.MarkRemovedRulesStale(now, Context);
            }
            _pending.Clear();
            foreach (var key in _groups.Keys.ToList())
            {
                var r = _groups[key];
                _groups[key] = r with { Loop = Task.Run(() => RunAsync(r.Group, r.Stop.Token)) };
            }
        }
    }

    private readonly List<(RuleGroup New, RuleGroup Old)> _pending = [];

    private static async Task StopAsync(Running r)
    {
        await r.Stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await r.Loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        r.Stop.Dispose();
    }

    private async Task RunAsync(RuleGroup g, CancellationToken ct)
    {
        var time = Context.Time;
        var interval = g.Interval;
        var intervalMs = (long)interval.TotalMilliseconds;
        if (intervalMs <= 0) return;
        // Wait for the group's first slot after now, then evaluate on every slot; slots that passed while an evaluation
        // ran are counted as missed and skipped.
        var evalTs = g.EvalTimestamp(time.GetUtcNow().ToUnixTimeMilliseconds()) + intervalMs;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var wait = evalTs - time.GetUtcNow().ToUnixTimeMilliseconds();
                if (wait > 0) await Task.Delay(TimeSpan.FromMilliseconds(wait), time, ct).ConfigureAwait(false);
                var ts = DateTimeOffset.FromUnixTimeMilliseconds(evalTs);
                try
                {
                    await g.EvalAsync(ts, Context, ct).ConfigureAwait(false);
                    if (g.ShouldRestore && g.Iterations >= 2) await g.RestoreForStateAsync(time.GetUtcNow(), Context, ct).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    Context.Log?.Invoke($"rule group {g.Name} ({g.File}) failed: {ex.Message}");
                }
                var now = time.GetUtcNow().ToUnixTimeMilliseconds();
                var next = evalTs + intervalMs;
                if (now >= next + intervalMs)
                {
                    var missed = (now - next) / intervalMs;
                    Interlocked.Add(ref g.IterationsMissed, missed);
                    next += missed * intervalMs;
                }
                evalTs = next;
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        List<Running> all;
        lock (_lock)
        {
            if (_disposed) return;
            _disposed = true;
            all = [.. _groups.Values];
            _groups.Clear();
        }
        foreach (var r in all) await StopAsync(r).ConfigureAwait(false);
    }
}
