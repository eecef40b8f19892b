using System.Net;
using System.Text.Json;
using Watchkeeper.Metrics.Configuration;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Tests;

/// <summary>The service catalog (services:): its config checks, the API and incidents choosing their services from it.</summary>
public sealed class ServiceCatalogTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public void The_shipped_catalog_has_the_manuals_four_services_with_owners_from_people()
    {
        var c = ConfigLoader.Load(TestServer.DefaultConfig);
        Assert.Equal(["api-service", "web-interface", "database", "cache"], c.Services.Select(s => s.Name));
        var people = c.People.Select(p => p.Name).ToHashSet();
        Assert.All(c.Services, s => Assert.Contains(s.Owner, people));
        Assert.Equal("API service", c.Services[0].Title);
        Assert.Equal("api-service", c.Services[0].JobLabel);
    }

    [Theory]
    [InlineData("    owner: team-lead\n    team: Platform team\n    tier: 1\n    group: Application\n    job: api-service",
        "    owner: nobody\n    team: Platform team\n    tier: 1\n    group: Application\n    job: api-service", "services[0].owner", "'nobody' is not in people:")]
    [InlineData("  - name: cache", "  - name: database", "services[3].name", "duplicate service 'database'")]
    [InlineData("  - name: cache", "  - name: Cache Service", "services[3].name", "is not a service id")]
    [InlineData("    tier: 2\n    group: Data\n    job: cache", "    tier: 7\n    group: Data\n    job: cache", "services[3].tier", "must be 1 (most critical) to 4")]
    [InlineData("    job: cache", "    job: database", "services[3].job", "job 'database' already belongs to service 'database'")]
    [InlineData("      - {title: Targets, url: /targets}\n  - name: web-interface", "      - {title: Targets, url: 'javascript:alert(1)'}\n  - name: web-interface",
        "services[0].links[1].url", "is not an http(s) URL")]
    public void A_bad_service_names_file_line_and_key(string from, string to, string key, string problem) =>
        TestServer.AssertShippedConfigEditFails(from, to, key, problem);

    [Fact]
    public async Task The_catalog_is_served_to_viewers_and_resolves_names_and_jobs()
    {
        await using var s = await TestServer.StartAsync();
        using var c = s.Client((await s.NewUserAsync("viewer")).Token);
        var list = await c.Get("/api/v1/services");
        Assert.Equal(["api-service", "web-interface", "database", "cache"], list.EnumerateArray().Select(x => x.GetProperty("name").GetString()));
        var api = list[0];
        Assert.Equal("API service", api.GetProperty("display_name").GetString());
        Assert.Equal("team-lead", api.GetProperty("owner").GetString());
        Assert.Equal(1, api.GetProperty("tier").GetInt32());
        Assert.Equal("api-service", api.GetProperty("job").GetString());
        Assert.Equal("Error rate", api.GetProperty("links")[0].GetProperty("title").GetString());

        var catalog = s.Get<IServiceCatalog>();
        Assert.Equal("database", catalog.Find("DATABASE")?.Name);
        Assert.Equal("cache", catalog.ForJob("cache")?.Name);
        Assert.Null(catalog.Find("payments"));
    }

    [Fact]
    public async Task Incidents_take_services_from_the_catalog_and_an_unknown_one_is_a_problem_naming_the_field()
    {
        await using var s = await TestServer.StartAsync();
        using var c = s.Client((await s.NewUserAsync("responder")).Token);
        var p = await c.Post("/api/v1/incidents", new { title = "t", severity = "SEV3", services_affected = new[] { "api-service", "payments" } }, HttpStatusCode.BadRequest);
        Assert.True(p.GetProperty("errors").TryGetProperty("services_affected[1]", out var msg), p.ToString());
        Assert.Contains("unknown service 'payments'", msg.ToString(), StringComparison.Ordinal);
        Assert.Equal(0, (await c.Get("/api/v1/incidents?status=")).GetProperty("total").GetInt32());

        // Names are matched without case and stored as the catalog spells them.
        var v = await c.Post("/api/v1/incidents", new { title = "t", severity = "SEV3", services_affected = new[] { "API-Service" } }, HttpStatusCode.Created);
        Assert.Equal(["api-service"], v.GetProperty("impact").GetProperty("services_affected").EnumerateArray().Select(x => x.GetString()));
        var id = v.GetProperty("id").GetInt64();
        var bad = await c.Patch($"/api/v1/incidents/{id}", new { services_affected = new[] { "cache", "gateway" } }, HttpStatusCode.BadRequest);
        Assert.True(bad.GetProperty("errors").TryGetProperty("services_affected[1]", out _), bad.ToString());
        var after = await c.Get($"/api/v1/incidents/{id}");
        Assert.Equal(["api-service"], after.GetProperty("impact").GetProperty("services_affected").EnumerateArray().Select(x => x.GetString()));
    }

    [Fact]
    public async Task Without_a_catalog_any_single_line_service_name_is_taken()
    {
        await using var s = await TestServer.StartAsync(editConfig: y => y[..y.IndexOf("services:\n", StringComparison.Ordinal)]
            + y[y.IndexOf("# Who is on call:", StringComparison.Ordinal)..]);
        Assert.Empty(s.Get<IServiceCatalog>().All);
        using var c = s.Client((await s.NewUserAsync("responder")).Token);
        var v = await c.Post("/api/v1/incidents", new { title = "t", severity = "SEV3", services_affected = new[] { "payments" } }, HttpStatusCode.Created);
        Assert.Equal(["payments"], v.GetProperty("impact").GetProperty("services_affected").EnumerateArray().Select(x => x.GetString()));
    }
}
