using Watchkeeper.Server.Platform;
using Watchkeeper.Server.Web;

namespace Watchkeeper.Server.Incidents.Ui;

/// <summary>Everything the incident page and its live parts show, read once per request.</summary>
public sealed record IncidentPageModel(
    PageContext Ctx, IncidentView Incident, IReadOnlyList<StatusUpdateView> Updates, ChecklistView Checklist, PostmortemView Postmortem,
    IReadOnlyList<SlaBreachView> Breaches, IReadOnlyList<string> People, FormError? Err)
{
    public IReadOnlyList<ServiceConfig> Catalog => Ctx.Config.Services;
    public IReadOnlyList<TimelineEntry> Timeline => Postmortem.Timeline;
    public IReadOnlyList<ActionItemView> ActionItems => Postmortem.ActionItems;
    public int OpenActionItems => ActionItems.Count(a => a.Status is "open" or "in_progress");
}

/// <summary>The tabs of the incident page, in order; <c>?tab=</c> picks one (the page works without JavaScript).</summary>
public static class IncidentTabs
{
    public const string Overview = "overview";
    public const string Timeline = "timeline";
    public const string Checklist = "checklist";
    public const string Postmortem = "postmortem";
    public const string FollowUps = "followups";
    public static readonly string[] All = [Overview, Timeline, Checklist, Postmortem, FollowUps];

    public static string Of(string? tab) => tab is not null && All.Contains(tab) ? tab : Overview;

    /// <summary>The tab that holds a form, so a refused post shows its form with the message.</summary>
    public static string ForForm(string? form) => form switch
    {
        "note" => Timeline,
        "checklist" => Checklist,
        "postmortem" => Postmortem,
        { } f when f.StartsWith("action", StringComparison.Ordinal) => FollowUps,
        _ => Overview,
    };
}

/// <summary>What the incident needs next, pinned at the top of its page.</summary>
public sealed record NextAction(string Text, string? Href = null, string? PostTo = null, string? Button = null, bool Urgent = false)
{
    public static NextAction For(IncidentPageModel m)
    {
        var i = m.Incident;
        var id = i.Id;
        if (i.Status == IncidentStatus.Resolved)
        {
            if (m.Postmortem.UpdatedAt is null) return new("Write the postmortem", $"/incidents/{id}?tab=postmortem#postmortem", Button: "Open postmortem");
            if (m.OpenActionItems > 0) return new($"Follow up {m.OpenActionItems} open action item{(m.OpenActionItems == 1 ? "" : "s")}", $"/incidents/{id}?tab=followups#actions", Button: "Open follow-ups");
            return new("Nothing pending: resolved, postmortem written, follow-ups done.");
        }
        if (i.AcknowledgedAt is null)
            return new($"Acknowledge: response SLA {(i.ResponseSla.Breached ? "breached" : Html.Span(i.ResponseSla.RemainingSeconds) + " left")}", PostTo: $"/incidents/{id}/acknowledge", Button: "Acknowledge", Urgent: true);
        if (i.Roles.Commander is null) return new("Assign an incident commander", $"/incidents/{id}?tab=overview#roles-form", Button: "Assign", Urgent: true);
        if (i.StatusUpdateOverdue) return new("Post a status update: it is overdue", $"/incidents/{id}?tab=overview#update-form", Button: "Post update", Urgent: true);
        var overdue = m.Checklist.Phases.SelectMany(p => p.Items).FirstOrDefault(x => x.Overdue);
        if (overdue is not null) return new($"Checklist overdue: {overdue.Text}", $"/incidents/{id}?tab=checklist#item-{overdue.Id}", Button: "Open checklist", Urgent: true);
        return i.Status switch
        {
            IncidentStatus.Investigating => new("Find the cause, then move to Identified", $"/incidents/{id}?tab=overview#transitions", Button: "Actions"),
            IncidentStatus.Identified => new("Mitigate, then move to Monitoring", $"/incidents/{id}?tab=overview#transitions", Button: "Actions"),
            _ => new("Confirm the fix holds, then resolve", $"/incidents/{id}/resolve", Button: "Resolve"),
        };
    }
}
