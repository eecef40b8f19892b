using System.Net;
using System.Text.Json;

namespace Watchkeeper.Server.Tests;

/// <summary>Input validation of incident fields (issue 9, defect 10): times, control characters, LIKE wildcards.</summary>
public sealed class IncidentInputTests
{
    public static readonly TheoryData<string> Providers = new("sqlite", "postgres");

    private static async Task<TestServer> Start(string provider)
    {
        TestServer.SkipUnlessAvailable(provider == "postgres");
        return await TestServer.StartAsync(provider == "postgres");
    }

    private static void AssertNames(JsonElement problem, string field)
    {
        Assert.Equal(400, problem.GetProperty("status").GetInt32());
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task Detection_times_before_2000_or_in_the_future_are_refused_naming_the_field(string provider)
    {
        await using var s = await Start(provider);
        using var c = s.Client((await s.NewUserAsync("responder")).Token);
        var now = s.Time.GetUtcNow();
        foreach (var bad in new object[] { "0001-01-01T00:00:00Z", "1999-12-31T23:59:59Z", now.AddHours(1) })
            AssertNames(await c.Post("/api/v1/incidents", new { title = "t", severity = "SEV3", detected_at = bad }, HttpStatusCode.BadRequest), "detected_at");
        var ok = await c.Post("/api/v1/incidents", new { title = "t", severity = "SEV3", detected_at = now.AddSeconds(30) }, HttpStatusCode.Created);
        var id = ok.Long("id");
        AssertNames(await c.Post($"/api/v1/incidents/{id}/action-items", new { title = "a", owner = "o", due_at = "0001-01-01T00:00:00Z" }, HttpStatusCode.BadRequest), "due_at");
        Assert.Equal(1, (await c.Get("/api/v1/incidents")).Long("total"));
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task Control_characters_and_bidi_overrides_are_refused_where_they_do_not_belong(string provider)
    {
        await using var s = await Start(provider);
        using var c = s.Client((await s.NewUserAsync("responder")).Token);
        foreach (var title in new[] { "Disk\r\nfull", "Disk\nfull", "Disk\tfull", "Disk\u0000full", "Disk \u202Elluf", "a\u2066b", "esc\u001b[31m" })
            AssertNames(await c.Post("/api/v1/incidents", new { title, severity = "SEV3" }, HttpStatusCode.BadRequest), "title");
        AssertNames(await c.Post("/api/v1/incidents", new { title = "t", severity = "SEV3", commander = "al\nice" }, HttpStatusCode.BadRequest), "commander");
        AssertNames(await c.Post("/api/v1/incidents", new { title = "t", severity = "SEV3", services_affected = new[] { "api-service", "w\reb" } }, HttpStatusCode.BadRequest), "services_affected[1]");

        // Text fields keep tabs and line breaks, and refuse NUL, other controls and bidi overrides.
        var id = (await c.Post("/api/v1/incidents", new { title = "Disk full", severity = "SEV3", summary = "line 1\r\nline 2\tindented" }, HttpStatusCode.Created)).Long("id");
        Assert.Equal("line 1\r\nline 2\tindented", (await c.Get($"/api/v1/incidents/{id}")).Str("summary"));
        await c.Post($"/api/v1/incidents/{id}/notes", new { text = "first\nsecond" }, HttpStatusCode.Created);
        foreach (var text in new[] { "a\u0000b", "evil \u202Etxt.exe", "x\u0007" })
            AssertNames(await c.Post($"/api/v1/incidents/{id}/notes", new { text }, HttpStatusCode.BadRequest), "text");
        AssertNames(await c.Post($"/api/v1/incidents/{id}/status-updates", new { current_status = "ok\u202E" }, HttpStatusCode.BadRequest), "current_status");
        AssertNames(await c.Put($"/api/v1/incidents/{id}/postmortem", new { root_cause = "nul\u0000" }, HttpStatusCode.BadRequest), "root_cause");
        AssertNames(await c.Post($"/api/v1/incidents/{id}/resolve", new { message = "done\u0000" }, HttpStatusCode.BadRequest), "message");
        AssertNames(await c.Patch($"/api/v1/incidents/{id}", new { title = "new\ntitle" }, HttpStatusCode.BadRequest), "title");
        // Nothing refused was stored.
        var timeline = await c.Get($"/api/v1/incidents/{id}/timeline");
        Assert.Single(timeline.EnumerateArray(), t => t.Str("kind") == "note");
        Assert.Equal("investigating", (await c.Get($"/api/v1/incidents/{id}")).Str("status"));
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task Search_treats_percent_underscore_and_backslash_literally(string provider)
    {
        await using var s = await Start(provider);
        using var c = s.Client((await s.NewUserAsync("responder")).Token);
        foreach (var title in new[] { "disk_full", "diskXfull", "at 100% CPU", "at 1000 CPU", @"path C:\temp", "path C:temp" })
            await c.Post("/api/v1/incidents", new { title, severity = "SEV4" }, HttpStatusCode.Created);
        async Task<string[]> Search(string q) =>
            (await c.Get("/api/v1/incidents?q=" + Uri.EscapeDataString(q))).GetProperty("items").EnumerateArray().Select(i => i.Str("title")).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(["disk_full"], await Search("_"));
        Assert.Equal(["disk_full"], await Search("k_f"));
        Assert.Equal(["at 100% CPU"], await Search("%"));
        Assert.Equal(["at 100% CPU"], await Search("0%"));
        Assert.Equal([@"path C:\temp"], await Search(@"\"));
        Assert.Equal([@"path C:\temp"], await Search(@":\t"));
        Assert.Equal(["DISK_FULL".ToLowerInvariant()], await Search("DISK_"));
    }
}
