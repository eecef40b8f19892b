using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.OnCall;

// The configuration of on-call and escalation: who the people are and how to reach them (people:), who is on call
// when (schedules:), whom an incident pages and in what order (escalation_policies:), and the feature's settings
// (oncall:). Bound by the one config binder into WatchkeeperConfig; checked by OnCallValidation.

/// <summary>
/// A person who can be on call or paged. <see cref="Name"/> is the name schedules and policies use, and the
/// Watchkeeper user name when that person also logs in (their calendar and acknowledgements are then theirs).
/// </summary>
public sealed class PersonConfig
{
    public string Name { get; set; } = "";
    public string FullName { get; set; } = "";
    /// <summary>Roles escalation steps can page (<c>role: team_lead</c>), e.g. team_lead, management.</summary>
    public List<string> Roles { get; set; } = [];
    public ContactConfig Contact { get; set; } = new();
}

/// <summary>How to reach a person. Each set field is a contact method an escalation step can use.</summary>
public sealed class ContactConfig
{
    /// <summary>Contact method <c>email</c>: sent with the notification pipeline's SMTP settings.</summary>
    public string? Email { get; set; }
    /// <summary>Contact method <c>slack</c>: a Slack incoming-webhook URL that reaches this person (a DM app or their team's channel).</summary>
    public string? SlackWebhookUrl { get; set; }
    /// <summary>The person's Slack member ID (U0123ABCD), mentioned in the Slack message.</summary>
    public string? SlackUser { get; set; }
    /// <summary>Contact method <c>webhook</c>: Alertmanager's webhook payload posted here.</summary>
    public string? WebhookUrl { get; set; }

    public static readonly string[] Methods = ["email", "slack", "webhook"];

    /// <summary>The contact methods this person has, in <see cref="Methods"/> order.</summary>
    public IEnumerable<string> Available()
    {
        if (!string.IsNullOrWhiteSpace(Email)) yield return "email";
        if (!string.IsNullOrWhiteSpace(SlackWebhookUrl)) yield return "slack";
        if (!string.IsNullOrWhiteSpace(WebhookUrl)) yield return "webhook";
    }

    /// <summary>The address of a contact method (for the sender and the pages), or null when the person has none.</summary>
    public string? Address(string method) => method switch
    {
        "email" => Email,
        "slack" => SlackWebhookUrl,
        "webhook" => WebhookUrl,
        _ => null,
    };
}

/// <summary>An on-call schedule: layers of rotations in one IANA time zone; overrides are made at run time.</summary>
public sealed class ScheduleConfig
{
    public string Name { get; set; } = "";
    public string Description { get; set; } = "";
    /// <summary>IANA time zone (Europe/London): handoffs and restrictions are local times there.</summary>
    public string TimeZone { get; set; } = "UTC";
    /// <summary>Layers, lowest first: where a later layer has someone, it wins.</summary>
    public List<LayerConfig> Layers { get; set; } = [];
}

public sealed class LayerConfig
{
    public string Name { get; set; } = "";
    /// <summary>daily, weekly, or custom (with <see cref="Length"/>).</summary>
    public string Rotation { get; set; } = "weekly";
    /// <summary>Shift length of a custom rotation (12h, 3d, 2w); whole days keep the handoff at the same local time.</summary>
    public Duration? Length { get; set; }
    /// <summary>Local time of the handoff (HH:mm).</summary>
    public string Handoff { get; set; } = "09:00";
    /// <summary>The first shift starts on this local date (YYYY-MM-DD) at the handoff time; no one before it.</summary>
    public string Start { get; set; } = "";
    /// <summary>People in rotation order (names from people:).</summary>
    public List<string> Participants { get; set; } = [];
    /// <summary>When set, the layer covers only these windows (e.g. working hours); empty means always.</summary>
    public List<RestrictionConfig> Restrictions { get; set; } = [];
}

/// <summary>A local time window, on some days of the week (all days when empty). A window whose end is not after its start runs past midnight.</summary>
public sealed class RestrictionConfig
{
    public List<string> Days { get; set; } = [];
    public string From { get; set; } = "00:00";
    public string To { get; set; } = "00:00";
}

/// <summary>An escalation policy: steps run in order, each waiting for an acknowledgement, the whole repeated N more times.</summary>
public sealed class EscalationPolicyConfig
{
    public string Name { get; set; } = "";
    public string Description { get; set; } = "";
    /// <summary>Incident severities (ids from severities:) that start this policy.</summary>
    public List<string> Severities { get; set; } = [];
    /// <summary>How many more times to run the steps after the first pass when nobody acknowledges.</summary>
    public int Repeat { get; set; }
    /// <summary>Steps; a policy with none pages nobody (the incident waits for the regular team review).</summary>
    public List<EscalationStepConfig> Steps { get; set; } = [];
}

public sealed class EscalationStepConfig
{
    public List<EscalationTargetConfig> Notify { get; set; } = [];
    /// <summary>How long to wait for an acknowledgement before the next step.</summary>
    public Duration Wait { get; set; } = new(TimeSpan.FromMinutes(5));
    /// <summary>Contact methods to use (email, slack, webhook); empty means every method each person has.</summary>
    public List<string> Via { get; set; } = [];
}

/// <summary>One target of a step: exactly one of schedule (whoever is on call then), user, or role (everyone with it).</summary>
public sealed class EscalationTargetConfig
{
    public string? Schedule { get; set; }
    public string? User { get; set; }
    public string? Role { get; set; }

    public override string ToString() => Schedule is not null ? "schedule " + Schedule : User is not null ? "user " + User : "role " + Role;
}

/// <summary>The <c>oncall:</c> section: settings of the feature.</summary>
public sealed class OnCallConfig
{
    /// <summary>How long an acknowledgement link in a notification stays valid.</summary>
    public Duration AckLinkTtl { get; set; } = new(TimeSpan.FromHours(24));
    /// <summary>How many weeks of shifts the calendar export and the schedule timeline show.</summary>
    public int CalendarWeeks { get; set; } = 8;
    /// <summary>The escalation worker's longest sleep; it also wakes when an escalation starts.</summary>
    public Duration CheckInterval { get; set; } = new(TimeSpan.FromSeconds(5));
}
