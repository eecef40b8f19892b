namespace Watchkeeper.Metrics.Model;

/// <summary>
/// What <c>rate</c> and <c>increase</c> need of one series' samples in a window, stale markers left out: how many
/// samples, the first and the last, and the counter resets in time order (for each sample smaller than the one
/// before it, the value before it: what the reset scan adds to last - first).
/// </summary>
public readonly ref struct CounterWindow(int count, Sample first, Sample last, ReadOnlySpan<double> resets)
{
    public int Count { get; } = count;
    public Sample First { get; } = first;
    public Sample Last { get; } = last;
    public ReadOnlySpan<double> Resets { get; } = resets;
}

/// <summary>Receives one series' <see cref="CounterWindow"/> (only valid during the call).</summary>
public delegate void CounterWindowVisitor(Labels labels, CounterWindow window);

/// <summary>
/// A store that can summarize each series' window for counter functions without handing out every sample: a chunk
/// lying wholly in the window whose values never decrease contributes its first and last sample and its count only.
/// </summary>
public interface ICounterWindowQuerier : IStreamingSeriesQuerier
{
    /// <summary>
    /// Calls <paramref name="visit"/>, in label order, for every series matching all matchers with at least one
    /// non-stale sample in [minT, maxT]; the window is the one <see cref="CounterWindowBuilder"/> builds from them.
    /// </summary>
    void SelectCounterWindows(long minT, long maxT, IReadOnlyList<LabelMatcher> matchers, CounterWindowVisitor visit);
}

/// <summary>Builds a <see cref="CounterWindow"/> from a series' samples in time order, some of them as ascending runs.</summary>
public sealed class CounterWindowBuilder
{
    private double[] _resets = new double[4];
    private int _resetCount;
    private Sample _first, _last;

    public int Count { get; private set; }

    public CounterWindow Window => new(Count, _first, _last, _resets.AsSpan(0, _resetCount));

    public void Reset()
    {
        Count = 0;
        _resetCount = 0;
    }

    /// <summary>Adds samples in time order after those added so far; stale markers are skipped.</summary>
    public void Add(ReadOnlySpan<Sample> samples)
    {
        foreach (var s in samples)
        {
            if (StaleNaN.Is(s.V)) continue;
            Next(s);
            Count++;
        }
    }

    /// <summary>
    /// Adds a run of <paramref name="count"/> samples from <paramref name="first"/> to <paramref name="last"/> whose
    /// values are numbers that never decrease (so none is a stale marker and no reset lies inside the run).
    /// </summary>
    public void AddAscending(Sample first, Sample last, int count)
    {
        if (count <= 0) return;
        Next(first);
        _last = last;
        Count += count;
    }

    private void Next(Sample s)
    {
        if (Count == 0) _first = s;
        else if (s.V < _last.V)
        {
            if (_resetCount == _resets.Length) Array.Resize(ref _resets, _resets.Length * 2);
            _resets[_resetCount++] = _last.V;
        }
        _last = s;
    }
}
