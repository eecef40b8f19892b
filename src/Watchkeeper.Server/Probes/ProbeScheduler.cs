using System.Threading.Channels;
using Watchkeeper.Metrics.Model;

namespace Watchkeeper.Server.Probes;

/// <summary>What a page or <c>wk health</c> shows of one check: its configuration and its last result.</summary>
public sealed record ProbeStatus(
    string Name, string Module, string Prober, string Target, string Service, string Component, TimeSpan Interval,
    DateTimeOffset? LastRun, bool? Success, double? DurationSeconds, string? Error, int? StatusCode, int ConsecutiveFailures,
    DateTimeOffset? LastSuccess, DateTimeOffset? LastFailure);

/// <summary>
/// Runs the configured checks. Checks are grouped by interval; each group is a timer wheel that sleeps (on the injected
/// <see cref="TimeProvider"/>) from one occupied slot to the next, with as many slots as fit (a slot is at least
/// 100 ms, at most 1,000 slots), and each check sits in the slot its name hashes to, so starts spread over the interval
/// and stay put across restarts. At most <c>max_concurrency</c> probes run at once; a check whose last run has not
/// finished is skipped, not queued. Results go through a channel to one writer that appends them to the TSDB in batches
/// under blackbox_exporter's names, with job, instance, probe, service and component labels.
/// </summary>
public sealed class ProbeScheduler : IAsyncDisposable
{
    private readonly IProbeRunner _runner;
    private readonly ISeriesStore _store;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly Channel<(Entry Entry, ProbeResult Result, long At)> _results =
        Channel.CreateUnbounded<(Entry, ProbeResult, long)>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _writer;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private List<Task> _wheels = [];
    private List<Wheel> _wheelState = [];
    private int _inFlight;
    private CancellationTokenSource _wheelStop = new();
    private SemaphoreSlim _slots = new(256);
    private long _written;
    private TaskCompletionSource _writtenSignal = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ProbeScheduler(IProbeRunner runner, ISeriesStore store, TimeProvider time, ILogger log)
    {
        _runner = runner;
        _store = store;
        _time = time;
        _log = log;
        _writer = Task.Run(WriteLoopAsync);
    }

    private readonly TaskCompletionSource _applied = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when a configuration has first been applied.</summary>
    public Task Applied => _applied.Task;

    /// <summary>Results appended to the TSDB so far (tests wait on it).</summary>
    public long Written => Interlocked.Read(ref _written);

    /// <summary>Completes once at least <paramref name="count"/> results have been appended.</summary>
    public async Task WaitForWrittenAsync(long count, CancellationToken ct)
    {
        while (true)
        {
            Task signal;
            lock (_lock) signal = _writtenSignal.Task;
            if (Written >= count) return;
            await signal.WaitAsync(ct);
        }
    }

    /// <summary>Probes running now (started, result not yet handed to the writer).</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>
    /// True when every check due by the clock's current time has been started and none is still running: what a test
    /// on a fake clock waits for before it moves the clock on, so a probe's timeout never runs ahead of loopback I/O.
    /// </summary>
    public bool Idle
    {
        get
        {
            List<Wheel> wheels;
            lock (_lock) wheels = _wheelState;
            foreach (var w in wheels)
                if (w.NextDue(Volatile.Read(ref w.Last)) <= w.Now()) return false;
            return InFlight == 0;
        }
    }

    /// <summary>The checks and their last results, by name.</summary>
    public IReadOnlyList<ProbeStatus> Statuses()
    {
        lock (_lock) return [.. _entries.Values.OrderBy(e => e.Check.ServiceName, StringComparer.Ordinal).ThenBy(e => e.Check.Name, StringComparer.Ordinal).Select(e => e.Status())];
    }

    /// <summary>
    /// (Re)starts the wheels for a configuration. Checks that keep their name keep their last result; the series of
    /// checks that are gone are marked stale. <paramref name="self"/> turns a "/path" target into a URL on this server.
    /// </summary>
    public async Task ApplyAsync(ProbesConfig config, Func<string, string> self)
    {
        List<Task> old;
        List<Entry> removed;
        CancellationTokenSource oldStop;
        lock (_lock)
        {
            oldStop = _wheelStop;
            old = _wheels;
            _wheelStop = new CancellationTokenSource();
            _slots = new SemaphoreSlim(config.MaxConcurrency);
            var next = new Dictionary<string, Entry>(StringComparer.Ordinal);
            foreach (var c in config.Checks)
            {
                if (!config.Modules.TryGetValue(c.Module, out var module)) continue;
                var target = module.Prober == "http" && c.Target.StartsWith('/') ? self(c.Target) : c.Target;
                var timeout = c.Timeout.Value > TimeSpan.Zero ? c.Timeout.Value : module.Timeout.Value;
                if (timeout > c.Interval.Value) timeout = c.Interval.Value;
                var request = new ProbeRequest(c.Module, module, target, timeout, c.Retries, config.MaxBodyBytes);
                var entry = new Entry(c, request, BaseLabels(c, target));
                if (_entries.TryGetValue(c.Name, out var previous)) entry.CarryOver(previous);
                next[c.Name] = entry;
            }
            removed = [.. _entries.Values.Where(e => !next.TryGetValue(e.Check.Name, out var n) || !n.SameSeries(e))];
            _entries.Clear();
            foreach (var (k, v) in next) _entries[k] = v;
            var stop = _wheelStop.Token;
            // Each wheel's starting tick is taken and its timer armed here, synchronously, so time that passes after this
            // call (a fake clock advanced right after ApplyAsync returns, a busy thread pool) counts.
            _wheelState = [.. next.Values.GroupBy(e => e.Check.Interval.Value).Select(g => new Wheel(g.Key, [.. g], _time, e => Start(e, stop)))];
            _wheels = [.. _wheelState.Select(w => WheelAsync(w, stop))];
        }
        await oldStop.CancelAsync();
        try
        {
            await Task.WhenAll(old);
        }
        catch (OperationCanceledException)
        {
        }
        oldStop.Dispose();
        MarkStale(removed);
        _applied.TrySetResult();
    }

    private static Labels BaseLabels(ProbeCheckConfig c, string target)
    {
        var labels = new List<Label> { new("job", c.Job), new("instance", target), new("probe", c.Name), new("service", c.ServiceName) };
        if (c.Component.Length > 0) labels.Add(new("component", c.Component));
        foreach (var (k, v) in c.Labels) labels.Add(new(k, v));
        return Labels.From(labels);
    }

    /// <summary>Slot count for an interval: slots of at least 100 ms, at most 1,000 of them.</summary>
    internal static int SlotCount(TimeSpan interval) => (int)Math.Clamp(interval.Ticks / TimeSpan.FromMilliseconds(100).Ticks, 1, 1000);

    /// <summary>The slot a check sits in: a stable hash (FNV-1a) of its name.</summary>
    internal static int SlotOf(string name, int slots)
    {
        var h = 2166136261u;
        foreach (var ch in name)
        {
            h ^= ch;
            h *= 16777619u;
        }
        return (int)(h % (uint)slots);
    }

    /// <summary>
    /// One interval's timer wheel. Slots are fixed in time (tick k of the Unix epoch runs slot k mod count), so a check
    /// keeps its offset across restarts, and ticks a late wake-up passed (a busy process, a clock jump) still run every
    /// slot they passed, once.
    /// </summary>
    private sealed class Wheel : IDisposable
    {
        private readonly TimeProvider _time;
        private readonly long _tick;
        private readonly Action<Entry> _start;
        public readonly List<Entry>[] Slots;
        /// <summary>The slots that hold a check, ascending: the timer is set from one to the next, not tick by tick.</summary>
        private readonly int[] _occupied;
        private readonly ITimer _timer;
        private readonly Lock _gate = new();
        private bool _stopped;
        public long Last;

        public Wheel(TimeSpan interval, List<Entry> entries, TimeProvider time, Action<Entry> start)
        {
            _time = time;
            _start = start;
            var count = SlotCount(interval);
            Slots = new List<Entry>[count];
            for (var i = 0; i < count; i++) Slots[i] = [];
            foreach (var e in entries) Slots[SlotOf(e.Check.Name, count)].Add(e);
            _occupied = [.. Enumerable.Range(0, count).Where(i => Slots[i].Count > 0)];
            _tick = interval.Ticks / count;
            Last = Now();
            _timer = time.CreateTimer(_ => Tick(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            lock (_gate) Arm();
        }

        /// <summary>The current tick: time since the Unix epoch in slot lengths.</summary>
        public long Now() => (_time.GetUtcNow().UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / _tick;

        /// <summary>The first tick after <paramref name="last"/> whose slot holds a check (<see cref="long.MaxValue"/> if none does).</summary>
        public long NextDue(long last)
        {
            if (_occupied.Length == 0) return long.MaxValue;
            var count = Slots.Length;
            var first = last + 1;
            var r = (int)(first % count);
            var i = Array.BinarySearch(_occupied, r);
            if (i < 0) i = ~i;
            return i < _occupied.Length ? first + (_occupied[i] - r) : first + (count - r) + _occupied[0];
        }

        /// <summary>
        /// Starts the checks of every slot passed since the last run (at most one round: a clock that jumped runs each check
        /// once, not once per missed round), then sets the timer for the next occupied slot. The timer is re-armed from
        /// inside its own callback, at the time it fired, so no time passes unseen between two runs.
        /// </summary>
        private void Tick()
        {
            lock (_gate)
            {
                if (_stopped) return;
                var count = Slots.Length;
                var now = Now();
                for (var k = Math.Max(Last + 1, now - count + 1); k <= now; k++)
                    foreach (var e in Slots[(int)(k % count)]) _start(e);
                Volatile.Write(ref Last, Math.Max(Last, now));
                Arm();
            }
        }

        private void Arm()
        {
            var due = NextDue(Last);
            if (due == long.MaxValue) return;
            var wait = TimeSpan.FromTicks(due * _tick + DateTimeOffset.UnixEpoch.UtcTicks - _time.GetUtcNow().UtcTicks);
            _timer.Change(wait > TimeSpan.Zero ? wait : TimeSpan.FromTicks(1), Timeout.InfiniteTimeSpan);
        }

        public void Dispose()
        {
            lock (_gate) _stopped = true;
            _timer.Dispose();
        }
    }

    /// <summary>Keeps a wheel until its configuration is replaced or the scheduler stops; one timer per occupied slot reached.</summary>
    private static async Task WheelAsync(Wheel wheel, CancellationToken ct)
    {
        using (wheel)
        {
            try
            {
                await Task.Delay(Timeout.Infinite, ct);
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    private void Start(Entry e, CancellationToken ct)
    {
        if (Interlocked.CompareExchange(ref e.Running, 1, 0) != 0) return;
        Interlocked.Increment(ref _inFlight);
        var slots = _slots;
        _ = Task.Run(async () =>
        {
            var finished = false;
            try
            {
                await slots.WaitAsync(ct);
                try
                {
                    var result = await _runner.RunAsync(e.Request, ct);
                    e.Record(result, _time.GetUtcNow());
                    // The check may start again once its result is recorded, before the writer has stored it.
                    Volatile.Write(ref e.Running, 0);
                    _results.Writer.TryWrite((e, result, _time.GetUtcNow().ToUnixTimeMilliseconds()));
                    finished = true;
                    Interlocked.Decrement(ref _inFlight);
                }
                finally
                {
                    slots.Release();
                }
            }
            catch (OperationCanceledException)
            {
            }
            catch (Exception ex)
            {
                _log.LogError(ex, "Probe {Name} failed unexpectedly", e.Check.Name);
            }
            finally
            {
                if (!finished)
                {
                    Volatile.Write(ref e.Running, 0);
                    Interlocked.Decrement(ref _inFlight);
                }
            }
        }, CancellationToken.None);
    }

    private async Task WriteLoopAsync()
    {
        var reader = _results.Reader;
        try
        {
            while (await reader.WaitToReadAsync(_stop.Token))
            {
                var app = _store.Appender();
                var n = 0;
                while (n < 10_000 && reader.TryRead(out var item))
                {
                    item.Entry.Append(app, item.Result, item.At);
                    n++;
                }
                try
                {
                    app.Commit();
                }
                catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException)
                {
                    _log.LogError(ex, "Appending probe results failed");
                }
                Interlocked.Add(ref _written, n);
                TaskCompletionSource signal;
                lock (_lock)
                {
                    signal = _writtenSignal;
                    _writtenSignal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                }
                signal.TrySetResult();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void MarkStale(List<Entry> removed)
    {
        if (removed.Count == 0) return;
        var app = _store.Appender();
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        foreach (var e in removed) e.MarkStale(app, now);
        try
        {
            app.Commit();
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException)
        {
            _log.LogWarning(ex, "Marking removed probes' series stale failed");
        }
    }

    public async ValueTask DisposeAsync()
    {
        List<Task> wheels;
        CancellationTokenSource stop;
        lock (_lock)
        {
            stop = _wheelStop;
            wheels = _wheels;
        }
        await stop.CancelAsync();
        try
        {
            await Task.WhenAll(wheels);
        }
        catch (OperationCanceledException)
        {
        }
        await _stop.CancelAsync();
        await _writer;
        _stop.Dispose();
        stop.Dispose();
        _slots.Dispose();
    }

    /// <summary>One check: its request, its series handles (used by the writer only) and its last result.</summary>
    private sealed class Entry(ProbeCheckConfig check, ProbeRequest request, Labels labels)
    {
        public ProbeCheckConfig Check { get; } = check;
        public ProbeRequest Request { get; } = request;
        public Labels Labels { get; } = labels;
        public int Running;
        private readonly Dictionary<(string Name, string? Label), (Labels Labels, SeriesRef Ref)> _series = [];
        private readonly Lock _stateLock = new();
        private ProbeResult? _last;
        private DateTimeOffset? _lastRun, _lastSuccess, _lastFailure;
        private int _failures;

        public bool SameSeries(Entry other) => Labels == other.Labels;

        public void CarryOver(Entry previous)
        {
            lock (previous._stateLock)
            {
                _last = previous._last;
                _lastRun = previous._lastRun;
                _lastSuccess = previous._lastSuccess;
                _lastFailure = previous._lastFailure;
                _failures = previous._failures;
            }
        }

        public void Record(ProbeResult r, DateTimeOffset at)
        {
            lock (_stateLock)
            {
                _last = r;
                _lastRun = at;
                if (r.Success)
                {
                    _lastSuccess = at;
                    _failures = 0;
                }
                else
                {
                    _lastFailure = at;
                    _failures++;
                }
            }
        }

        public ProbeStatus Status()
        {
            lock (_stateLock)
                return new ProbeStatus(Check.Name, Check.Module, Request.Config.Prober, Request.Target, Check.ServiceName, Check.Component, Check.Interval.Value,
                    _lastRun, _last?.Success, _last?.DurationSeconds, _last?.Error, _last?.StatusCode, _failures, _lastSuccess, _lastFailure);
        }

        public void Append(ISeriesAppender app, ProbeResult r, long t)
        {
            lock (_series) AppendLocked(app, r, t);
        }

        private void AppendLocked(ISeriesAppender app, ProbeResult r, long t)
        {
            foreach (var m in r.AllMetrics())
            {
                var key = (m.Name, m.LabelValue);
                if (!_series.TryGetValue(key, out var s))
                {
                    var b = new List<Label>(Labels.Count + 2) { new(Labels.MetricName, m.Name) };
                    foreach (var l in Labels) b.Add(l);
                    if (m.LabelName is not null) b.Add(new(m.LabelName, m.LabelValue ?? ""));
                    s = (Labels.From(b), default);
                }
                var reference = s.Ref;
                app.Append(ref reference, s.Labels, t, m.Value);
                _series[key] = (s.Labels, reference);
            }
        }

        public void MarkStale(ISeriesAppender app, long t)
        {
            lock (_series)
                foreach (var (_, s) in _series) app.Append(s.Labels, t, StaleNaN.Value);
        }
    }
}
