using System.Text.RegularExpressions;

namespace Watchkeeper.Interop.Tests;

/// <summary>Helpers to compare a server's data with a remote-written copy of it held by another server.</summary>
public static partial class Parity
{
    public static double Now() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;

    /// <summary>The expression with <c>label="value"</c> added to every selector (every selector in it must have braces).</summary>
    public static string WithMatcher(string query, string label, string value) =>
        Selector().Replace(query, m => m.Groups[1].Success ? $"{{{label}=\"{value}\"}}" : $"{{{label}=\"{value}\",");

    [GeneratedRegex(@"\{(\s*\})?")]
    private static partial Regex Selector();

    /// <summary>
    /// A millisecond offset (0-499) no scrape timestamp has modulo 500 ms. Evaluation times, steps, ranges and offsets in
    /// these tests are multiples of 500 ms, so with it no sample lies exactly on a window's left edge, where Prometheus 2.42
    /// (closed) and Watchkeeper (open, as Prometheus 3) differ; see PromtoolTests.Range_selector_boundary_differs_from_prometheus_2_42.
    /// </summary>
    public static async Task<int> OffGridAsync(PromClient scraper)
    {
        var used = (await scraper.InstantAsync("up[10m]", Now())).Series
            .SelectMany(s => s.Points).Select(pt => (int)(Math.Round(pt.T * 1000) % 500)).ToHashSet();
        return Enumerable.Range(0, 500).Select(i => (250 + i) % 500).First(ms => !used.Contains(ms));
    }

    /// <summary>Runs a query on both; an error must be the same kind of error on both. The copy's result loses <paramref name="dropLabel"/>.</summary>
    public static async Task<(QueryResult? Expected, QueryResult? Actual, List<string> Diff)> CompareAsync(
        Func<Task<QueryResult>> reference, Func<Task<QueryResult>> copy, string dropLabel, double relErr = 1e-6)
    {
        static async Task<(QueryResult?, PromApiException?)> Run(Func<Task<QueryResult>> f)
        {
            try
            {
                return (await f(), null);
            }
            catch (PromApiException e)
            {
                return (null, e);
            }
        }
        var (e, ee) = await Run(reference);
        var (a, ae) = await Run(copy);
        if (ee is not null || ae is not null)
        {
            if (ee is not null && ae is not null && ee.Status == ae.Status && ee.ErrorType == ae.ErrorType) return (null, null, []);
            return (e, a, [$"reference: {(ee is null ? "ok" : ee.Message)}; copy: {(ae is null ? "ok" : ae.Message)}"]);
        }
        var stripped = a!.Without(dropLabel);
        return (e, stripped, ResultComparer.Diff(e!, stripped, relErr));
    }

    /// <summary>
    /// Waits (bounded) until the copy holds as many samples per metric name up to <paramref name="t"/> as the reference,
    /// and returns the remaining differences (empty when in step). One query per server: count_over_time drops the name,
    /// so each name is put back as a label.
    /// </summary>
    public static async Task<List<string>> WaitInStepAsync(PromClient reference, PromClient copy, string copyLabel, string copyValue,
        IEnumerable<string> names, double t, TimeSpan timeout)
    {
        var perName = string.Join(" or ", names.Select(n => $$"""label_replace(sum(count_over_time({{n}}{}[10m])), "name", "{{n}}", "", "")"""));
        List<string> behind = ["not compared yet"];
        await Peers.PollAsync(async () =>
        {
            behind = ResultComparer.Diff(await reference.InstantAsync(perName, t),
                (await copy.InstantAsync(WithMatcher(perName, copyLabel, copyValue), t)).Without(copyLabel));
            return behind.Count == 0;
        }, timeout, TimeSpan.FromMilliseconds(500));
        if (behind.Count > 0 && Peers.LastPollError is { } err) behind.Add(err);
        return behind;
    }
}
