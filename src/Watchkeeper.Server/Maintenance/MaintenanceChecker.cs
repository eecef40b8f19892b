using System.Globalization;
using Watchkeeper.Metrics.PromQL;
using Watchkeeper.Server.Monitoring;
using Watchkeeper.Server.Platform;
using Watchkeeper.Server.Probes;

namespace Watchkeeper.Server.Maintenance;

/// <summary>
/// The validation checks of a run: each named probe must have succeeded on a run after the maintenance started
/// (a green result from before says nothing about the change), and each PromQL expression, evaluated now on the
/// local engine, must be true: a non-empty vector, or a non-zero scalar. A window without checks is validated by the
/// probes of its components' services. Every result says why it passed or failed.
/// </summary>
public sealed class MaintenanceChecker(ProbeScheduler probes, MetricsRuntime metrics, ConfigHolder config, TimeProvider time)
{
    public async Task<IReadOnlyList<CheckResult>> RunAsync(MaintenanceChecksDef checks, IReadOnlyList<string> components, DateTimeOffset startedAt, CancellationToken ct)
    {
        var statuses = probes.Statuses();
        var names = checks.Probes.ToList();
        if (names.Count == 0 && checks.Promql.Count == 0)
        {
            var services = ServicesOf(components);
            names = [.. statuses.Where(s => services.Contains(s.Service)).Select(s => s.Name)];
        }
        var results = new List<CheckResult>();
        foreach (var name in names)
        {
            var s = statuses.FirstOrDefault(x => x.Name == name);
            if (s is null)
                results.Add(new("probe", name, false, "no such probe is running (probes.checks)"));
            else if (s.LastRun is not { } run || run < startedAt)
                results.Add(new("probe", name, false, s.LastRun is { } last
                    ? $"no result since the maintenance started (last run {last.UtcDateTime.ToString("HH:mm:ss", CultureInfo.InvariantCulture)} UTC); validate again after its next run"
                    : "has not run yet"));
            else if (s.Success == true)
                results.Add(new("probe", name, true, $"up at {run.UtcDateTime.ToString("HH:mm:ss", CultureInfo.InvariantCulture)} UTC" + (s.DurationSeconds is { } d ? $" in {d.ToString("0.###", CultureInfo.InvariantCulture)}s" : "")));
            else
                results.Add(new("probe", name, false, "down: " + (s.Error ?? "failed")));
        }
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        foreach (var expr in checks.Promql)
        {
            try
            {
                var parsed = Parser.Parse(expr);
                var r = await metrics.Engine.InstantAsync(metrics.Querier, parsed, now, ct);
                results.Add(r.Value switch
                {
                    VectorResult v when v.Samples.Count > 0 => new("promql", expr, true, $"{v.Samples.Count} series, first {v.Samples[0].Labels} = {Num(v.Samples[0].V)}"),
                    VectorResult => new("promql", expr, false, "empty result (false)"),
                    ScalarResult s => new("promql", expr, s.V != 0 && !double.IsNaN(s.V), "scalar " + Num(s.V)),
                    MatrixResult m => new("promql", expr, m.Series.Count > 0, $"{m.Series.Count} series"),
                    _ => new("promql", expr, false, "a string result is neither true nor false"),
                });
            }
            catch (Exception ex) when (ex is ParseException or QueryException)
            {
                results.Add(new("promql", expr, false, "query failed: " + ex.Message));
            }
        }
        if (results.Count == 0) results.Add(new("none", "no checks", true, "no checks configured and no probe watches the affected services: nothing was verified"));
        return results;
    }

    private HashSet<string> ServicesOf(IReadOnlyList<string> components)
    {
        var c = config.Current;
        var set = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var name in components)
        {
            set.Add(name);
            foreach (var x in c.StatusPage.Components.Where(x => x.Id == name)) set.Add(x.Service);
        }
        return set;
    }

    private static string Num(double v) => v.ToString("0.######", CultureInfo.InvariantCulture);
}
