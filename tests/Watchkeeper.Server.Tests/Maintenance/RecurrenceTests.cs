using Watchkeeper.Server.Maintenance;

namespace Watchkeeper.Server.Tests.Maintenance;

/// <summary>
/// Occurrences of windows across the 2026 DST changes: Europe/London (29 March 01:00 UTC forward, 25 October 01:00 UTC
/// back) and America/Toronto (8 March 07:00 UTC forward, 1 November 06:00 UTC back).
/// </summary>
public sealed class RecurrenceTests
{
    private static DateTimeOffset Utc(int y, int mo, int d, int h, int mi = 0) => new(y, mo, d, h, mi, 0, TimeSpan.Zero);

    private static List<Occurrence> Between(MaintenanceWindowDef w, DateTimeOffset from, DateTimeOffset to) => [.. Recurrence.Parse(w).Between(w.Id, from, to)];

    private static MaintenanceWindowDef Window(string zone, string? cron = null, string? rule = null, string? at = null, string? start = null, string? end = null, string? duration = "1h") =>
        new() { Id = "w", Title = "w", TimeZone = zone, Cron = cron, Rule = rule, At = at, Start = start, End = end, Duration = duration, Components = ["api-service"] };

    [Fact]
    public void Weekly_cron_in_London_keeps_local_time_across_both_2026_changes()
    {
        // Sundays 01:30 local. 29 March: 01:30 does not exist (01:00 -> 02:00), so it moves forward by the gap to 02:30 BST.
        var w = Window("Europe/London", cron: "30 1 * * SUN");
        var spring = Between(w, Utc(2026, 3, 21, 0), Utc(2026, 4, 6, 0));
        Assert.Equal([Utc(2026, 3, 22, 1, 30), Utc(2026, 3, 29, 1, 30), Utc(2026, 4, 5, 0, 30)], spring.Select(o => o.Start));
        Assert.All(spring, o => Assert.Equal(TimeSpan.FromHours(1), o.End - o.Start));
        // 25 October: 01:30 happens twice; the window starts at the first (BST), and only once.
        var autumn = Between(w, Utc(2026, 10, 17, 0), Utc(2026, 11, 2, 0));
        Assert.Equal([Utc(2026, 10, 18, 0, 30), Utc(2026, 10, 25, 0, 30), Utc(2026, 11, 1, 1, 30)], autumn.Select(o => o.Start));
    }

    [Fact]
    public void Monthly_rule_in_Toronto_on_both_2026_change_days()
    {
        // 8 March 2026 is the 2nd Sunday: 02:30 does not exist in Toronto (02:00 EST -> 03:00 EDT): 03:30 EDT = 07:30 UTC.
        var second = Window("America/Toronto", rule: "2nd sunday", at: "02:30", duration: "2h");
        var march = Between(second, Utc(2026, 2, 1, 0), Utc(2026, 4, 1, 0));
        Assert.Equal([Utc(2026, 2, 8, 7, 30), Utc(2026, 3, 8, 7, 30)], march.Select(o => o.Start));
        Assert.Equal(Utc(2026, 3, 8, 9, 30), march[1].End);
        Assert.Equal(Utc(2026, 4, 12, 6, 30), Between(second, Utc(2026, 4, 1, 0), Utc(2026, 5, 1, 0)).Single().Start); // EDT: UTC-4
        // 1 November 2026 is the 1st Sunday: 01:30 happens twice (EDT, then EST): the first, 05:30 UTC.
        var first = Window("America/Toronto", rule: "first sunday of the month", at: "01:30");
        Assert.Equal([Utc(2026, 10, 4, 5, 30), Utc(2026, 11, 1, 5, 30), Utc(2026, 12, 6, 6, 30)],
            Between(first, Utc(2026, 10, 1, 0), Utc(2026, 12, 31, 0)).Select(o => o.Start));
    }

    [Fact]
    public void Rules_pick_the_nth_or_last_weekday_and_skip_months_without_a_fifth()
    {
        var tuesday = Window("UTC", rule: "2nd tuesday", at: "03:00");
        Assert.Equal([Utc(2026, 1, 13, 3), Utc(2026, 2, 10, 3), Utc(2026, 3, 10, 3)], Between(tuesday, Utc(2026, 1, 1, 0), Utc(2026, 4, 1, 0)).Select(o => o.Start));
        var last = Window("UTC", rule: "last Friday", at: "22:00");
        Assert.Equal([Utc(2026, 1, 30, 22), Utc(2026, 2, 27, 22)], Between(last, Utc(2026, 1, 1, 0), Utc(2026, 3, 1, 0)).Select(o => o.Start));
        var fifth = Window("UTC", rule: "5th monday", at: "00:00");
        // 2026: March, June, August, November have five Mondays.
        Assert.Equal([3, 6, 8, 11], Between(fifth, Utc(2026, 1, 1, 0), Utc(2027, 1, 1, 0)).Select(o => o.Start.Month));
    }

    [Fact]
    public void One_off_window_across_the_London_autumn_change_lasts_the_elapsed_time()
    {
        // 00:30 BST to 03:00 GMT on 25 October: 3.5 hours, since the hour from 01:00 to 02:00 happens twice.
        var w = Window("Europe/London", start: "2026-10-25T00:30", end: "2026-10-25T03:00", duration: null);
        var o = Assert.Single(Between(w, Utc(2026, 10, 1, 0), Utc(2026, 11, 1, 0)));
        Assert.Equal(Utc(2026, 10, 24, 23, 30), o.Start);
        Assert.Equal(Utc(2026, 10, 25, 3), o.End);
        // A recurring window's duration is elapsed time too: 00:30 for 3h on the spring day ends 04:30 BST.
        var r = Window("Europe/London", cron: "30 0 29 3 *", duration: "3h");
        var spring = Between(r, Utc(2026, 3, 1, 0), Utc(2026, 4, 1, 0)).Single();
        Assert.Equal((Utc(2026, 3, 29, 0, 30), Utc(2026, 3, 29, 3, 30)), (spring.Start, spring.End));
    }

    [Fact]
    public void An_occurrence_running_at_from_is_included()
    {
        var w = Window("UTC", cron: "0 2 * * *", duration: "2h");
        Assert.Equal(Utc(2026, 5, 5, 2), Between(w, Utc(2026, 5, 5, 3), Utc(2026, 5, 5, 4)).Single().Start);
    }

    [Theory]
    [InlineData("cron", "61 * * * *", null, "cron", "is not a five-field cron expression")]
    [InlineData("cron", "0 0 30 2 *", null, "cron", "never occurs")]
    [InlineData("rule", "2nd funday", "03:00", "rule", "is not a monthly rule")]
    [InlineData("rule", "2nd tuesday", "25:00", "at", "is not a time of day")]
    [InlineData("rule", "2nd tuesday", null, "at", "needs at")]
    public void Impossible_recurrences_name_the_field(string kind, string text, string? at, string field, string problem)
    {
        var w = kind == "cron" ? Window("UTC", cron: text) : Window("UTC", rule: text, at: at);
        var ex = Assert.Throws<RecurrenceException>(() => Recurrence.Parse(w));
        Assert.Equal(field, ex.Field);
        Assert.Contains(problem, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_zone_end_before_start_and_missing_parts_name_the_field()
    {
        Assert.Equal("time_zone", Assert.Throws<RecurrenceException>(() => Recurrence.Parse(Window("Mars/Olympus_Mons", cron: "0 2 * * *"))).Field);
        var backwards = Assert.Throws<RecurrenceException>(() => Recurrence.Parse(Window("UTC", start: "2026-12-20T04:00", end: "2026-12-20T02:00", duration: null)));
        Assert.Equal("end", backwards.Field);
        Assert.Contains("before it starts", backwards.Message, StringComparison.Ordinal);
        Assert.Equal("duration", Assert.Throws<RecurrenceException>(() => Recurrence.Parse(Window("UTC", cron: "0 2 * * *", duration: null))).Field);
        Assert.Equal("start", Assert.Throws<RecurrenceException>(() => Recurrence.Parse(Window("UTC"))).Field);
        Assert.Equal("end", Assert.Throws<RecurrenceException>(() => Recurrence.Parse(Window("UTC", start: "2026-12-20T02:00", end: "2026-12-20T03:00", duration: "1h"))).Field);
        Assert.Equal("start", Assert.Throws<RecurrenceException>(() => Recurrence.Parse(Window("UTC", start: "next tuesday", duration: "1h"))).Field);
    }
}
