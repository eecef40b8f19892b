using Watchkeeper.Server.OnCall.Ui;
using Watchkeeper.Server.Overview;
using Watchkeeper.Server.Web;

namespace Watchkeeper.Server.OnCall;

/// <summary>The landing page's on-call section: who is on call now on each schedule, and the escalations running.</summary>
public sealed class OnCallOverviewSection(OnCallService oncall, Platform.Db db) : IOverviewSection
{
    public int Order => 400;
    public Type Component => typeof(OnCallOverview);

    public async Task<Dictionary<string, object?>> LoadAsync(PageContext ctx, CancellationToken ct) => new()
    {
        [nameof(OnCallOverview.Now)] = await oncall.WhoAsync(ctx.Now, null, ct),
        [nameof(OnCallOverview.Active)] = await OnCallModule.EscalationsAsync(db, oncall.Model, EscalationState.Active, null, 20, ct),
        [nameof(OnCallOverview.Zones)] = oncall.Model.Schedules.ToDictionary(s => s.Key, s => s.Value.Zone),
    };
}
