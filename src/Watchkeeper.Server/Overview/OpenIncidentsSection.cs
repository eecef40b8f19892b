using Watchkeeper.Server.Incidents;
using Watchkeeper.Server.Overview.Ui;
using Watchkeeper.Server.Web;

namespace Watchkeeper.Server.Overview;

/// <summary>Open incidents, most severe first, with their SLA clocks.</summary>
public sealed class OpenIncidentsSection(IncidentService incidents) : IOverviewSection
{
    public int Order => 300;
    public Type Component => typeof(OpenIncidentsView);

    public async Task<Dictionary<string, object?>> LoadAsync(PageContext ctx, CancellationToken ct)
    {
        var page = await incidents.ListAsync("open", null, null, null, null, null, 50, null, ct);
        var items = page.Items.OrderBy(i => i.Severity, StringComparer.OrdinalIgnoreCase).ThenBy(i => i.DetectedAt).ToList();
        return new() { [nameof(OpenIncidentsView.Incidents)] = items, [nameof(OpenIncidentsView.Total)] = page.Total };
    }
}
