using Watchkeeper.Metrics.Scrape;
using Watchkeeper.Server.Monitoring;
using Watchkeeper.Server.Overview.Ui;
using Watchkeeper.Server.Web;

namespace Watchkeeper.Server.Overview;

/// <summary>One job's scrape health on the landing page.</summary>
public sealed record ServiceHealth(string Job, int Up, int Down, int Unknown, IReadOnlyList<TargetState> DownTargets);

/// <summary>Services (scrape jobs) with targets down first, then the healthy ones, from the scrape manager's live state.</summary>
public sealed class ServicesSection(MetricsRuntime runtime) : IOverviewSection
{
    public int Order => 200;
    public Type Component => typeof(ServicesView);

    public Task<Dictionary<string, object?>> LoadAsync(PageContext ctx, CancellationToken ct) =>
        Task.FromResult(new Dictionary<string, object?> { [nameof(ServicesView.Services)] = Summarise(runtime.Scrape?.ActiveTargets()) });

    public static IReadOnlyList<ServiceHealth>? Summarise(IReadOnlyList<TargetState>? targets) =>
        targets?.GroupBy(t => t.Job, StringComparer.Ordinal)
            .Select(g => new ServiceHealth(g.Key,
                g.Count(t => t.Health == TargetHealth.Up), g.Count(t => t.Health == TargetHealth.Down), g.Count(t => t.Health == TargetHealth.Unknown),
                g.Where(t => t.Health == TargetHealth.Down).ToList()))
            .OrderByDescending(s => s.Down > 0).ThenBy(s => s.Job, StringComparer.Ordinal)
            .ToList();
}
