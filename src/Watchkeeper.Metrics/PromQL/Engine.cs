using Watchkeeper.Metrics.Model;

namespace Watchkeeper.Metrics.PromQL;

/// <summary>
/// Evaluates PromQL against an <see cref="ISeriesQuerier"/>. Thread-safe: each call gets its own evaluator state.
/// Times are Unix milliseconds, clamped to Prometheus's range (<see cref="PromTime.MinMs"/>..<see cref="PromTime.MaxMs"/>).
/// At most <see cref="EngineOptions.MaxConcurrency"/> queries run at once; further ones wait in a queue, and the query
/// timeout counts from the moment a query arrives, queue included.
/// </summary>
public sealed class Engine(EngineOptions? options = null, TimeProvider? timeProvider = null)
{
    public EngineOptions Options { get; } = options ?? new EngineOptions();

    /// <summary>Clock for query timeouts (inject a fake one in tests).</summary>
    public TimeProvider TimeProvider { get; } = timeProvider ?? TimeProvider.System;

    private readonly QueryGate? _gate = (options ?? new EngineOptions()).MaxConcurrency is > 0 and var max ? new QueryGate(max) : null;
    private int _queries;
    private int _queued;

    // histogram_quantile's bucket grouping per histogram argument of a parsed expression that is evaluated again and
    // again (a rule keeps its parsed expression): lives as long as the expression does.
    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<Expr, object> _histogramGroups = new();

    /// <summary>Queries being evaluated or waiting for a slot (Prometheus's <c>prometheus_engine_queries</c>).</summary>
    public int Queries => Volatile.Read(ref _queries);

    /// <summary>Queries waiting for a slot because <see cref="EngineOptions.MaxConcurrency"/> are running.</summary>
    public int QueuedQueries => Volatile.Read(ref _queued);

    /// <summary>Parses and evaluates <paramref name="query"/> at <paramref name="timeMs"/>.</summary>
    public QueryResult Instant(ISeriesQuerier querier, string query, long timeMs, CancellationToken cancellationToken = default)
        => Instant(querier, Parser.Parse(query), timeMs, cancellationToken);

    /// <summary>Evaluates an instant query. The value is a scalar, string, vector or (for range expressions) matrix.</summary>
    public QueryResult Instant(ISeriesQuerier querier, Expr expr, long timeMs, CancellationToken cancellationToken = default)
    {
        CheckInstant(querier, expr);
        return Run(expr, PromTime.Clamp(timeMs), PromTime.Clamp(timeMs), 0, querier, sync: true, cancellationToken).GetAwaiter().GetResult();
    }

    /// <summary>As <see cref="Instant(ISeriesQuerier, Expr, long, CancellationToken)"/>, waiting for a free slot asynchronously.</summary>
    public Task<QueryResult> InstantAsync(ISeriesQuerier querier, Expr expr, long timeMs, CancellationToken cancellationToken = default)
    {
        CheckInstant(querier, expr);
        return Run(expr, PromTime.Clamp(timeMs), PromTime.Clamp(timeMs), 0, querier, sync: false, cancellationToken);
    }

    /// <summary>Parses and evaluates a range query.</summary>
    public QueryResult Range(ISeriesQuerier querier, string query, long startMs, long endMs, long stepMs, CancellationToken cancellationToken = default)
        => Range(querier, Parser.Parse(query), startMs, endMs, stepMs, cancellationToken);

    /// <summary>Evaluates <paramref name="expr"/> at every step in [start, end]; the value is always a <see cref="MatrixResult"/>.</summary>
    public QueryResult Range(ISeriesQuerier querier, Expr expr, long startMs, long endMs, long stepMs, CancellationToken cancellationToken = default)
    {
        CheckRange(querier, expr, ref startMs, ref endMs, stepMs);
        return Run(expr, startMs, endMs, stepMs, querier, sync: true, cancellationToken).GetAwaiter().GetResult();
    }

    /// <summary>As <see cref="Range(ISeriesQuerier, Expr, long, long, long, CancellationToken)"/>, waiting for a free slot asynchronously.</summary>
    public Task<QueryResult> RangeAsync(ISeriesQuerier querier, Expr expr, long startMs, long endMs, long stepMs, CancellationToken cancellationToken = default)
    {
        CheckRange(querier, expr, ref startMs, ref endMs, stepMs);
        return Run(expr, startMs, endMs, stepMs, querier, sync: false, cancellationToken);
    }

    private static void CheckInstant(ISeriesQuerier querier, Expr expr)
    {
        ArgumentNullException.ThrowIfNull(querier);
        ArgumentNullException.ThrowIfNull(expr);
    }

    private void CheckRange(ISeriesQuerier querier, Expr expr, ref long startMs, ref long endMs, long stepMs)
    {
        CheckInstant(querier, expr);
        startMs = PromTime.Clamp(startMs);
        endMs = PromTime.Clamp(endMs);
        if (stepMs <= 0) throw new QueryException(StepNotPositive);
        if (endMs < startMs) throw new QueryException(EndBeforeStart);
        if (TooManyPoints(startMs, endMs, stepMs, Options.MaxResolution)) throw new QueryException(ResolutionExceeded(Options.MaxResolution));
        if (expr.Type is not (ValueKind.Scalar or ValueKind.Vector))
            throw new QueryException($"invalid expression type \"{Parser.TypeName(expr.Type)}\" for range query, must be Scalar or instant Vector");
    }

    /// <summary>Prometheus's message for a range query step that is not positive.</summary>
    public const string StepNotPositive = "zero or negative query resolution step widths are not accepted. Try a positive integer";

    /// <summary>Prometheus's message for a range query that ends before it starts.</summary>
    public const string EndBeforeStart = "end timestamp must not be before start time";

    /// <summary>Prometheus's message for a range query with more than <paramref name="max"/> steps after the first.</summary>
    public static string ResolutionExceeded(long max) =>
        $"exceeded maximum resolution of {max.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)} points per timeseries. Try decreasing the query resolution (?step=XX)";

    /// <summary>Whether (end - start) / step exceeds <paramref name="max"/>, computed without overflow for any int64 times.</summary>
    public static bool TooManyPoints(long startMs, long endMs, long stepMs, long max) =>
        endMs > startMs && stepMs > 0 && unchecked((ulong)(endMs - startMs)) / (ulong)stepMs > (ulong)max;

    private async Task<QueryResult> Run(Expr expr, long start, long end, long step, ISeriesQuerier querier, bool sync, CancellationToken ct)
    {
        Interlocked.Increment(ref _queries);
        try
        {
            // The timeout runs from arrival, so a query that waits in the queue for its whole timeout fails there.
            using var timeout = Options.Timeout > TimeSpan.Zero && Options.Timeout != Timeout.InfiniteTimeSpan
                ? new CancellationTokenSource(Options.Timeout, TimeProvider)
                : null;
            using var linked = timeout is null ? CancellationTokenSource.CreateLinkedTokenSource(ct) : CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token);
            if (_gate is not null)
            {
                Interlocked.Increment(ref _queued);
                try
                {
#pragma warning disable CA1849 // the synchronous entry points (rule tests, conformance) run this path with sync = true
                    if (sync) _gate.Enter(linked.Token);
#pragma warning restore CA1849
                    else await _gate.EnterAsync(linked.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    throw ct.IsCancellationRequested
                        ? new QueryException(QueryErrorKind.Canceled, "query was canceled in query queue")
                        : new QueryException(QueryErrorKind.Timeout, "query timed out in query queue");
                }
                finally
                {
                    Interlocked.Decrement(ref _queued);
                }
            }
            try
            {
                var ev = new Evaluator(querier, Options, start, end, step, linked.Token, ct, _histogramGroups);
                return step == 0 ? ev.RunInstant(expr) : ev.RunRange(expr);
            }
            finally
            {
                _gate?.Exit();
            }
        }
        finally
        {
            Interlocked.Decrement(ref _queries);
        }
    }
}

/// <summary>An element of an instant vector during evaluation. DropName defers removal of __name__ to the end.</summary>
internal readonly record struct Elem(Labels Labels, double V, bool DropName = false, FloatHistogram? H = null);

/// <summary>A series of a range vector at one evaluation step.</summary>
/// <param name="NoCounterResets">The float samples never decrease, so counter functions can skip the reset scan.</param>
internal readonly record struct RangeElem(Labels Labels, ArraySegment<Sample> Samples, bool DropName = false, ArraySegment<HistogramSample> Hist = default,
    bool NoCounterResets = false)
{
    public int Total => Samples.Count + Hist.Count;
}

/// <summary>An evaluated value at one step.</summary>
internal readonly struct Val
{
    public readonly ValueKind Kind;
    public readonly double Scalar;
    public readonly string? Str;
    public readonly List<Elem>? Vec;
    public readonly List<RangeElem>? Mat;

    private Val(ValueKind kind, double scalar, string? str, List<Elem>? vec, List<RangeElem>? mat)
    {
        Kind = kind; Scalar = scalar; Str = str; Vec = vec; Mat = mat;
    }

    public static Val OfScalar(double v) => new(ValueKind.Scalar, v, null, null, null);
    public static Val OfString(string s) => new(ValueKind.String, 0, s, null, null);
    public static Val OfVector(List<Elem> v) => new(ValueKind.Vector, 0, null, v, null);
    public static Val OfMatrix(List<RangeElem> m) => new(ValueKind.Matrix, 0, null, null, m);
}

/// <summary>A series loaded once per query for a selector, reused at every step.</summary>
internal sealed class LoadedSeries(Labels labels, Sample[] samples, HistogramSample[] hist)
{
    public Labels Labels { get; } = labels;
    public Sample[] Samples { get; } = samples;
    public HistogramSample[] Hist { get; } = hist;
}
