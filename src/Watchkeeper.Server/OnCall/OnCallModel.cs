using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using NodaTime;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.OnCall;

/// <summary>
/// people:, schedules: and escalation_policies: compiled and cross-checked: every name a schedule or policy uses
/// exists, time zones are IANA zones known to NodaTime's TZDB, times and dates parse. Built once per loaded
/// configuration (<see cref="For"/>); the loader runs <see cref="Check"/> so a bad file names file:line:key.
/// </summary>
public sealed partial class OnCallModel
{
    private static readonly ConditionalWeakTable<WatchkeeperConfig, OnCallModel> Cache = [];

    public IReadOnlyDictionary<string, PersonConfig> People { get; }
    public IReadOnlyDictionary<string, Schedule> Schedules { get; }
    public IReadOnlyList<EscalationPolicyConfig> Policies { get; }
    public OnCallConfig Settings { get; }

    private OnCallModel(WatchkeeperConfig c, List<ConfigError> errors)
    {
        Settings = c.Oncall;
        var people = new Dictionary<string, PersonConfig>(StringComparer.Ordinal);
        for (var i = 0; i < c.People.Count; i++)
        {
            var p = c.People[i];
            var k = $"people[{i}]";
            if (!NameRe().IsMatch(p.Name)) errors.Add(new(k + ".name", "a name of letters, digits, '.', '_' or '-' (at most 64) is required"));
            else if (!people.TryAdd(p.Name, p)) errors.Add(new(k + ".name", $"duplicate person '{p.Name}'"));
            for (var r = 0; r < p.Roles.Count; r++)
                if (!NameRe().IsMatch(p.Roles[r])) errors.Add(new($"{k}.roles[{r}]", $"'{p.Roles[r]}' is not a role name (letters, digits, '_', '-')"));
            if (p.Contact.Email is { Length: > 0 } e && !EmailRe().IsMatch(e)) errors.Add(new(k + ".contact.email", $"'{e}' is not an email address"));
            foreach (var (key, url) in new[] { ("slack_webhook_url", p.Contact.SlackWebhookUrl), ("webhook_url", p.Contact.WebhookUrl) })
                if (url is { Length: > 0 } && !(Uri.TryCreate(url, UriKind.Absolute, out var u) && u.Scheme is "http" or "https"))
                    errors.Add(new($"{k}.contact.{key}", $"'{url}' is not an absolute http(s) URL"));
        }
        People = people;

        var schedules = new Dictionary<string, Schedule>(StringComparer.Ordinal);
        for (var i = 0; i < c.Schedules.Count; i++)
        {
            var s = c.Schedules[i];
            var k = $"schedules[{i}]";
            if (!NameRe().IsMatch(s.Name)) { errors.Add(new(k + ".name", "a name of letters, digits, '.', '_' or '-' (at most 64) is required")); continue; }
            if (schedules.ContainsKey(s.Name)) { errors.Add(new(k + ".name", $"duplicate schedule '{s.Name}'")); continue; }
            var zone = DateTimeZoneProviders.Tzdb.GetZoneOrNull(s.TimeZone.Trim());
            if (zone is null) { errors.Add(new(k + ".time_zone", $"'{s.TimeZone}' is not an IANA time zone (e.g. Europe/London, America/Toronto, UTC)")); continue; }
            if (s.Layers.Count == 0) errors.Add(new(k + ".layers", "a schedule needs at least one layer"));
            var layers = new List<Layer>();
            for (var j = 0; j < s.Layers.Count; j++)
                if (CompileLayer(s.Layers[j], $"{k}.layers[{j}]", people, errors) is { } l) layers.Add(l);
            schedules[s.Name] = new Schedule(s.Name, s.Description, zone, layers);
        }
        Schedules = schedules;

        var roles = people.Values.SelectMany(p => p.Roles).ToHashSet(StringComparer.Ordinal);
        var policyNames = new HashSet<string>(StringComparer.Ordinal);
        var bySeverity = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < c.EscalationPolicies.Count; i++)
        {
            var p = c.EscalationPolicies[i];
            var k = $"escalation_policies[{i}]";
            if (!NameRe().IsMatch(p.Name)) errors.Add(new(k + ".name", "a name of letters, digits, '.', '_' or '-' (at most 64) is required"));
            else if (!policyNames.Add(p.Name)) errors.Add(new(k + ".name", $"duplicate escalation policy '{p.Name}'"));
            if (p.Repeat is < 0 or > 10) errors.Add(new(k + ".repeat", "must be between 0 and 10"));
            if (p.Steps.Count > 20) errors.Add(new(k + ".steps", "at most 20 steps"));
            for (var j = 0; j < p.Severities.Count; j++)
            {
                var sev = c.Severity(p.Severities[j]);
                if (sev is null) errors.Add(new($"{k}.severities[{j}]", $"unknown severity '{p.Severities[j]}'; severities: {string.Join(", ", c.Severities.Select(x => x.Id))}"));
                else if (!bySeverity.TryAdd(sev.Id, p.Name)) errors.Add(new($"{k}.severities[{j}]", $"{sev.Id} already starts policy '{bySeverity[sev.Id]}'; one policy per severity"));
            }
            for (var j = 0; j < p.Steps.Count; j++)
            {
                var st = p.Steps[j];
                var sk = $"{k}.steps[{j}]";
                if (st.Notify.Count == 0) errors.Add(new(sk + ".notify", "a step notifies at least one schedule, user or role"));
                if (st.Wait.Value < TimeSpan.FromSeconds(10)) errors.Add(new(sk + ".wait", "must be at least 10s"));
                for (var v = 0; v < st.Via.Count; v++)
                    if (!ContactConfig.Methods.Contains(st.Via[v])) errors.Add(new($"{sk}.via[{v}]", $"'{st.Via[v]}' is not a contact method ({string.Join(", ", ContactConfig.Methods)})"));
                for (var t = 0; t < st.Notify.Count; t++)
                {
                    var target = st.Notify[t];
                    var tk = $"{sk}.notify[{t}]";
                    var set = (target.Schedule is null ? 0 : 1) + (target.User is null ? 0 : 1) + (target.Role is null ? 0 : 1);
                    if (set != 1) errors.Add(new(tk, "name exactly one of schedule, user or role"));
                    else if (target.Schedule is { } sn && !schedules.ContainsKey(sn) && !c.Schedules.Any(x => x.Name == sn)) errors.Add(new(tk + ".schedule", $"unknown schedule '{sn}'"));
                    else if (target.User is { } un && !people.ContainsKey(un)) errors.Add(new(tk + ".user", $"unknown person '{un}' (not in people:)"));
                    else if (target.Role is { } rn && !roles.Contains(rn)) errors.Add(new(tk + ".role", $"no person has the role '{rn}'"));
                }
            }
        }
        Policies = c.EscalationPolicies;
        _bySeverity = bySeverity;

        if (c.Oncall.AckLinkTtl.Value < TimeSpan.FromMinutes(1) || c.Oncall.AckLinkTtl.Value > TimeSpan.FromDays(30))
            errors.Add(new("oncall.ack_link_ttl", "must be between 1m and 30d"));
        if (c.Oncall.CalendarWeeks is < 1 or > 52) errors.Add(new("oncall.calendar_weeks", "must be between 1 and 52"));
        if (c.Oncall.CheckInterval.Value < TimeSpan.FromMilliseconds(100)) errors.Add(new("oncall.check_interval", "must be at least 100ms"));
    }

    private readonly Dictionary<string, string> _bySeverity;

    /// <summary>The policy a severity starts, or null when none is configured for it.</summary>
    public EscalationPolicyConfig? PolicyFor(string severity) =>
        _bySeverity.TryGetValue(severity, out var name) ? Policies.First(p => p.Name == name) : null;

    public EscalationPolicyConfig? Policy(string name) => Policies.FirstOrDefault(p => p.Name == name);

    private static Layer? CompileLayer(LayerConfig l, string k, Dictionary<string, PersonConfig> people, List<ConfigError> errors)
    {
        var ok = true;
        if (l.Name.Length == 0) { errors.Add(new(k + ".name", "a layer name is required")); ok = false; }
        Period? length = l.Rotation switch
        {
            "daily" => Period.FromDays(1),
            "weekly" => Period.FromWeeks(1).Normalize(),
            "custom" => l.Length is { } d && d.Value >= TimeSpan.FromHours(1) && d.Value <= TimeSpan.FromDays(366)
                ? (d.Value.Ticks % TimeSpan.TicksPerDay == 0 ? Period.FromDays((int)d.Value.TotalDays) : Period.FromTicks(d.Value.Ticks))
                : null,
            _ => null,
        };
        if (l.Rotation is not ("daily" or "weekly" or "custom")) { errors.Add(new(k + ".rotation", $"'{l.Rotation}' is not daily, weekly or custom")); ok = false; }
        else if (length is null) { errors.Add(new(k + ".length", "a custom rotation needs a length between 1h and 366d (e.g. 12h, 3d, 2w)")); ok = false; }
        else if (l.Rotation != "custom" && l.Length is not null) { errors.Add(new(k + ".length", "length is only for rotation: custom")); ok = false; }
        LocalTime handoff = default;
        LocalDate start = default;
        try { handoff = Schedule.ParseTime(l.Handoff); }
        catch (Exception ex) when (ex is NodaTime.Text.UnparsableValueException or FormatException) { errors.Add(new(k + ".handoff", $"'{l.Handoff}' is not a local time HH:mm")); ok = false; }
        try { start = Schedule.ParseDate(l.Start); }
        catch (Exception ex) when (ex is NodaTime.Text.UnparsableValueException or FormatException) { errors.Add(new(k + ".start", $"'{l.Start}' is not a date YYYY-MM-DD (the first shift's local date)")); ok = false; }
        if (l.Participants.Count == 0) { errors.Add(new(k + ".participants", "a layer needs at least one participant")); ok = false; }
        for (var i = 0; i < l.Participants.Count; i++)
            if (!people.ContainsKey(l.Participants[i])) { errors.Add(new($"{k}.participants[{i}]", $"unknown person '{l.Participants[i]}' (not in people:)")); ok = false; }
        var restrictions = new List<Restriction>();
        for (var i = 0; i < l.Restrictions.Count; i++)
        {
            var r = l.Restrictions[i];
            var rk = $"{k}.restrictions[{i}]";
            try
            {
                var days = new HashSet<IsoDayOfWeek>();
                for (var d = 0; d < r.Days.Count; d++)
                {
                    try { days.Add(Schedule.ParseDay(r.Days[d])); }
                    catch (FormatException ex) { errors.Add(new($"{rk}.days[{d}]", ex.Message)); ok = false; }
                }
                restrictions.Add(new Restriction(days, Schedule.ParseTime(r.From), Schedule.ParseTime(r.To)));
            }
            catch (NodaTime.Text.UnparsableValueException)
            {
                errors.Add(new(rk, $"from and to must be local times HH:mm (got '{r.From}' and '{r.To}')"));
                ok = false;
            }
        }
        return ok && length is not null ? new Layer(l.Name, start + handoff, length, l.Participants, restrictions) : null;
    }

    /// <summary>The problems of the on-call sections of <paramref name="c"/>.</summary>
    public static IEnumerable<ConfigError> Check(WatchkeeperConfig c)
    {
        var errors = new List<ConfigError>();
        var m = new OnCallModel(c, errors);
        if (errors.Count == 0) Cache.AddOrUpdate(c, m);
        return errors;
    }

    /// <summary>The compiled model of a loaded (checked) configuration.</summary>
    public static OnCallModel For(WatchkeeperConfig c)
    {
        if (Cache.TryGetValue(c, out var m)) return m;
        var errors = new List<ConfigError>();
        m = new OnCallModel(c, errors);
        if (errors.Count > 0) throw c.Source.Error(errors[0].Key, errors[0].Problem);
        Cache.AddOrUpdate(c, m);
        return m;
    }

    /// <summary>The person names of everyone with <paramref name="role"/>.</summary>
    public IEnumerable<string> WithRole(string role) => People.Values.Where(p => p.Roles.Contains(role)).Select(p => p.Name);

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    private static partial Regex NameRe();

    [GeneratedRegex(@"^[^@\s<>""]+@[^@\s<>""]+$")]
    private static partial Regex EmailRe();
}
