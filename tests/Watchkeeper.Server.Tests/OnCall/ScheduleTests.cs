using NodaTime;
using Watchkeeper.Server.OnCall;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Tests.OnCall;

public sealed class ScheduleTests
{
    private static readonly string[] Abc = ["alice", "bob", "carol"];

    private static Schedule Build(string zone, params LayerConfig[] layers)
    {
        var c = new WatchkeeperConfig
        {
            People = [.. Abc.Append("dave").Select(n => new PersonConfig { Name = n })],
            Schedules = [new ScheduleConfig { Name = "primary", TimeZone = zone, Layers = [.. layers] }],
        };
        var errors = OnCallModel.Check(c).ToList();
        Assert.Empty(errors);
        return OnCallModel.For(c).Schedules["primary"];
    }

    private static LayerConfig Daily(string start = "2026-01-01", string handoff = "09:00") =>
        new() { Name = "daily", Rotation = "daily", Start = start, Handoff = handoff, Participants = [.. Abc] };

    private static DateTimeOffset Utc(string s) => DateTimeOffset.Parse(s, System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Every handoff of a daily 09:00 rotation across the transition is at 09:00 local time.</summary>
    [Theory]
    [InlineData("Europe/London", "2026-03-25T00:00:00Z", "2026-04-02T00:00:00Z")]   // spring forward 2026-03-29
    [InlineData("Europe/London", "2026-10-21T00:00:00Z", "2026-10-29T00:00:00Z")]   // fall back 2026-10-25
    [InlineData("America/Toronto", "2026-03-05T00:00:00Z", "2026-03-12T00:00:00Z")] // spring forward 2026-03-08
    [InlineData("America/Toronto", "2026-10-29T00:00:00Z", "2026-11-05T00:00:00Z")] // fall back 2026-11-01
    public void Daily_handoff_stays_at_nine_local_across_both_2026_DST_transitions(string zoneId, string from, string to)
    {
        var s = Build(zoneId, Daily());
        var zone = DateTimeZoneProviders.Tzdb[zoneId];
        var shifts = s.Shifts(Utc(from), Utc(to), []);
        var handoffs = shifts.Skip(1).Select(x => x.Start).ToList();
        Assert.True(handoffs.Count >= 6, $"{handoffs.Count} handoffs");
        foreach (var h in handoffs) Assert.Equal(new LocalTime(9, 0), Instant.FromDateTimeOffset(h).InZone(zone).TimeOfDay);
        // One shift in the window is not 24 hours long: the one containing the transition (23h in spring, 25h in autumn).
        var lengths = shifts.Skip(1).SkipLast(1).Select(x => (x.End - x.Start).TotalHours).ToList();
        Assert.Single(lengths, h => h != 24);
        Assert.Contains(lengths, h => h is 23 or 25);
        // Consecutive days go round the rotation.
        for (var i = 1; i < shifts.Count; i++) Assert.NotEqual(shifts[i - 1].Person, shifts[i].Person);
    }

    [Fact]
    public void Who_is_on_call_at_a_time_follows_local_nine_oclock_in_London_summer_time()
    {
        var s = Build("Europe/London", Daily());
        // 2026-03-29 is the first day of BST: 09:00 local is 08:00Z. At 08:30Z the new shift has started.
        var before = s.At(Utc("2026-03-29T07:59:00Z"), [])!.Value.Person;
        var after = s.At(Utc("2026-03-29T08:30:00Z"), [])!.Value.Person;
        Assert.NotEqual(before, after);
        // Back to GMT: on 2026-10-26, 09:00 local is 09:00Z, so at 08:30Z the previous shift still runs.
        Assert.Equal(s.At(Utc("2026-10-26T08:00:00Z"), [])!.Value.Person, s.At(Utc("2026-10-26T08:59:00Z"), [])!.Value.Person);
        Assert.NotEqual(s.At(Utc("2026-10-26T08:59:00Z"), [])!.Value.Person, s.At(Utc("2026-10-26T09:00:00Z"), [])!.Value.Person);
    }

    [Fact]
    public void Toronto_daily_shift_containing_spring_forward_is_23_hours_and_fall_back_25()
    {
        var s = Build("America/Toronto", Daily());
        var spring = s.Shifts(Utc("2026-03-07T14:00:00Z"), Utc("2026-03-09T14:00:00Z"), []);
        // 2026-03-07 09:00 EST = 14:00Z; 2026-03-08 09:00 EDT = 13:00Z.
        Assert.Equal(Utc("2026-03-08T13:00:00Z"), spring[1].Start);
        Assert.Equal(23, (spring[0].End - spring[0].Start).TotalHours);
        var fall = s.Shifts(Utc("2026-10-31T13:00:00Z"), Utc("2026-11-02T14:00:00Z"), []);
        // 2026-10-31 09:00 EDT = 13:00Z; 2026-11-01 09:00 EST = 14:00Z.
        Assert.Equal(Utc("2026-11-01T14:00:00Z"), fall[1].Start);
        Assert.Equal(25, (fall[0].End - fall[0].Start).TotalHours);
    }

    [Fact]
    public void Weekly_rotation_hands_off_on_the_start_weekday_and_nobody_is_on_call_before_the_start()
    {
        var s = Build("UTC", new LayerConfig { Name = "w", Rotation = "weekly", Start = "2026-01-05", Handoff = "10:00", Participants = ["alice", "bob"] });
        Assert.Null(s.At(Utc("2026-01-05T09:59:00Z"), []));
        Assert.Equal("alice", s.At(Utc("2026-01-05T10:00:00Z"), [])!.Value.Person);
        Assert.Equal("alice", s.At(Utc("2026-01-12T09:59:00Z"), [])!.Value.Person);
        Assert.Equal("bob", s.At(Utc("2026-01-12T10:00:00Z"), [])!.Value.Person);
        Assert.Equal("alice", s.At(Utc("2026-01-19T10:00:00Z"), [])!.Value.Person);
    }

    [Fact]
    public void Custom_twelve_hour_rotation_hands_off_at_nine_and_twenty_one_local_across_DST()
    {
        var s = Build("Europe/London", new LayerConfig { Name = "c", Rotation = "custom", Length = Watchkeeper.Server.Platform.Duration.Parse("12h"), Start = "2026-03-01", Handoff = "09:00", Participants = ["alice", "bob"] });
        var zone = DateTimeZoneProviders.Tzdb["Europe/London"];
        foreach (var sh in s.Shifts(Utc("2026-03-27T00:00:00Z"), Utc("2026-04-01T00:00:00Z"), []).Skip(1))
            Assert.Contains(Instant.FromDateTimeOffset(sh.Start).InZone(zone).Hour, new[] { 9, 21 });
    }

    [Fact]
    public void Higher_layer_wins_where_it_has_someone_and_restrictions_limit_it()
    {
        var baseLayer = new LayerConfig { Name = "base", Rotation = "weekly", Start = "2026-01-05", Handoff = "09:00", Participants = ["alice"] };
        var office = new LayerConfig
        {
            Name = "office", Rotation = "daily", Start = "2026-01-05", Handoff = "09:00", Participants = ["bob"],
            Restrictions = [new RestrictionConfig { Days = ["monday", "tue", "wednesday", "thursday", "friday"], From = "09:00", To = "17:00" }],
        };
        var s = Build("UTC", baseLayer, office);
        Assert.Equal(("bob", "office"), s.At(Utc("2026-01-07T10:00:00Z"), []));   // Wednesday office hours
        Assert.Equal(("alice", "base"), s.At(Utc("2026-01-07T18:00:00Z"), []));   // evening
        Assert.Equal(("alice", "base"), s.At(Utc("2026-01-10T10:00:00Z"), []));   // Saturday
        var shifts = s.Shifts(Utc("2026-01-07T00:00:00Z"), Utc("2026-01-08T00:00:00Z"), []);
        Assert.Equal(["alice", "bob", "alice"], shifts.Select(x => x.Person));
        Assert.Equal(Utc("2026-01-07T09:00:00Z"), shifts[1].Start);
        Assert.Equal(Utc("2026-01-07T17:00:00Z"), shifts[1].End);
    }

    [Fact]
    public void Overnight_restriction_runs_past_midnight_from_its_start_day()
    {
        var night = new LayerConfig
        {
            Name = "night", Rotation = "daily", Start = "2026-01-01", Participants = ["carol"],
            Restrictions = [new RestrictionConfig { Days = ["friday"], From = "22:00", To = "06:00" }],
        };
        var s = Build("UTC", night);
        Assert.Equal("carol", s.At(Utc("2026-01-09T23:00:00Z"), [])?.Person); // Friday night
        Assert.Equal("carol", s.At(Utc("2026-01-10T05:00:00Z"), [])?.Person); // early Saturday, from Friday's window
        Assert.Null(s.At(Utc("2026-01-10T23:00:00Z"), []));                    // Saturday night: not a Friday window
    }

    [Fact]
    public void Overrides_win_over_every_layer_and_the_newest_wins_where_they_overlap()
    {
        var s = Build("UTC", Daily());
        var o1 = new Override(1, "primary", "dave", Utc("2026-02-01T12:00:00Z"), Utc("2026-02-01T18:00:00Z"), "", "x", Utc("2026-01-01T00:00:00Z"));
        var o2 = new Override(2, "primary", "carol", Utc("2026-02-01T15:00:00Z"), Utc("2026-02-01T16:00:00Z"), "", "x", Utc("2026-01-01T00:00:00Z"));
        Assert.Equal(("dave", "override"), s.At(Utc("2026-02-01T13:00:00Z"), [o1, o2]));
        Assert.Equal(("carol", "override"), s.At(Utc("2026-02-01T15:30:00Z"), [o1, o2]));
        var shifts = s.Shifts(Utc("2026-02-01T10:00:00Z"), Utc("2026-02-01T20:00:00Z"), [o1, o2]);
        Assert.Equal(5, shifts.Count);
        Assert.Equal(["dave", "carol", "dave"], shifts.Skip(1).Take(3).Select(x => x.Person));
        Assert.Equal(Utc("2026-02-01T18:00:00Z"), shifts[4].Start);
    }

    [Fact]
    public void Configuration_errors_name_the_key()
    {
        var c = new WatchkeeperConfig
        {
            People = [new PersonConfig { Name = "alice" }],
            Schedules =
            [
                new ScheduleConfig { Name = "a", TimeZone = "Mars/Olympus", Layers = [Daily()] },
                new ScheduleConfig { Name = "b", Layers = [new LayerConfig { Name = "x", Rotation = "custom", Start = "2026-13-01", Handoff = "25:00", Participants = ["zed"] }] },
            ],
        };
        var errors = OnCallModel.Check(c).Select(e => e.Key + ": " + e.Problem).ToList();
        Assert.Contains(errors, e => e.StartsWith("schedules[0].time_zone: 'Mars/Olympus' is not an IANA time zone", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("schedules[1].layers[0].length:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("schedules[1].layers[0].handoff:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("schedules[1].layers[0].start:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("schedules[1].layers[0].participants[0]: unknown person 'zed'", StringComparison.Ordinal));
    }
}
