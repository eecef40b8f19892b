using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Tests.Dashboards;

/// <summary>The dashboards API and pages on a real server: provisioning, import/export round trip, errors, roles.</summary>
public sealed class DashboardApiTests
{
    private static StringContent Json(string text) => new(text, Encoding.UTF8, "application/json");

    [Fact]
    public async Task Shipped_dashboards_are_provisioned_read_only()
    {
        await using var s = await TestServer.StartAsync();
        using var viewer = await s.ClientAsAsync(Roles.Viewer);
        var list = (await viewer.Get("/api/v1/dashboards")).Items();
        var uids = list.Select(d => d.Str("uid")).ToList();
        foreach (var uid in new[] { "openpolicy-overview", "openpolicy-system-overview", "openpolicy-api-service", "openpolicy-web-interface", "openpolicy-database", "openpolicy-cache", "openpolicy-business" })
            Assert.Contains(uid, uids);
        Assert.All(list, d => Assert.True(d.Bool("provisioned")));
        var overview = await viewer.Get("/api/v1/dashboards/openpolicy-overview");
        var dash = overview.GetProperty("dashboard");
        Assert.Equal("Open Policy Platform Overview", dash.Str("title"));
        Assert.Equal("30s", dash.Str("refresh"));
        Assert.Equal(["Platform Health", "API Response Time", "Error Rate"], dash.Items("panels").Select(p => p.Str("title")));

        using var responder = await s.ClientAsAsync(Roles.Responder);
        using var del = await responder.DeleteAsync("/api/v1/dashboards/openpolicy-overview", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.Conflict, del.StatusCode);
        var replace = JsonNode.Parse(dash.GetRawText())!.AsObject();
        replace["title"] = "Hijacked";
        using var imp = await responder.PostAsync("/api/v1/dashboards/import?overwrite=true", Json(replace.ToJsonString()), TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.Conflict, imp.StatusCode);
        Assert.Equal("Open Policy Platform Overview", (await viewer.Get("/api/v1/dashboards/openpolicy-overview")).GetProperty("dashboard").Str("title"));
    }

    [Fact]
    public async Task Import_export_round_trip_keeps_unknown_fields_and_bumps_the_version_on_overwrite()
    {
        await using var s = await TestServer.StartAsync();
        using var responder = await s.ClientAsAsync(Roles.Responder);
        var ct = TestContext.Current.CancellationToken;
        // Grafana's import envelope, as its API takes it.
        var envelope = $$"""{"dashboard": {{DashboardModelTests.NodeExporterFull}}, "overwrite": false, "folderId": 0}""";
        using var created = await responder.PostAsync("/api/v1/dashboards/import", Json(envelope), ct);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var result = JsonDocument.Parse(await created.Content.ReadAsStringAsync(ct)).RootElement;
        Assert.Equal("rYdddlPWk", result.Str("uid"));
        Assert.Equal("/dashboards/rYdddlPWk", result.Str("url"));

        var exported = JsonNode.Parse(await responder.GetStringAsync("/api/v1/dashboards/rYdddlPWk/export", ct))!.AsObject();
        var original = JsonNode.Parse(DashboardModelTests.NodeExporterFull)!.AsObject();
        Assert.Equal(1, (int)exported["version"]!);
        Assert.Null(exported["id"]);
        original.Remove("id");
        original["version"] = 1;
        Assert.True(JsonNode.DeepEquals(original, exported), "the export is the import, with our version and without the instance id");

        // Same uid again: refused without overwrite, replaced with it.
        using var again = await responder.PostAsync("/api/v1/dashboards/import", Json(exported.ToJsonString()), ct);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        exported["title"] = "Node Exporter Full (edited)";
        using var over = await responder.PostAsync("/api/v1/dashboards/import?overwrite=true", Json(exported.ToJsonString()), ct);
        Assert.Equal(HttpStatusCode.OK, over.StatusCode);
        var meta = (await responder.Get("/api/v1/dashboards/rYdddlPWk")).GetProperty("meta");
        Assert.Equal(2, meta.Long("version"));
        Assert.Equal("Node Exporter Full (edited)", meta.Str("title"));
        Assert.False(meta.Bool("provisioned"));

        // The page renders it: variables resolved from the host collector's series, the plugin panel as a placeholder.
        var html = await s.Client(await s.AdminApiTokenAsync()).GetStringAsync("/dashboards/rYdddlPWk", ct);
        Assert.Contains("Panel type <code>piechart</code> is not drawn", html, StringComparison.Ordinal);

        using var gone = await responder.DeleteAsync("/api/v1/dashboards/rYdddlPWk", ct);
        Assert.Equal(HttpStatusCode.NoContent, gone.StatusCode);
        await responder.Get("/api/v1/dashboards/rYdddlPWk", HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Bad_json_is_a_problem_naming_the_field_and_nothing_is_saved()
    {
        await using var s = await TestServer.StartAsync();
        using var responder = await s.ClientAsAsync(Roles.Responder);
        var ct = TestContext.Current.CancellationToken;
        var before = (await responder.Get("/api/v1/dashboards")).Items().Count;
        foreach (var (body, field) in new[]
        {
            ("""{"title": "t", "uid": "bad1", "panels": [{"type": "stat", "gridPos": {"w": -3}}]}""", "panels[0].gridPos.w"),
            ("""{"uid": "bad2", "panels": []}""", "title"),
            ("""{"title": "t", "uid": "bad3", "panels": [{"type": "timeseries", "targets": [{"expr": ["x"]}]}]}""", "panels[0].targets[0].expr"),
            ("not json", "dashboard"),
        })
        {
            using var r = await responder.PostAsync("/api/v1/dashboards/import", Json(body), ct);
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
            Assert.Equal("application/problem+json", r.Content.Headers.ContentType?.MediaType);
            var problem = JsonDocument.Parse(await r.Content.ReadAsStringAsync(ct)).RootElement;
            Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"{field} in {problem}");
        }
        var big = $$"""{"title": "big", "description": "{{new string('x', 3 * 1024 * 1024)}}"}""";
        using (var r = await responder.PostAsync("/api/v1/dashboards/import", Json(big), ct))
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        Assert.Equal(before, (await responder.Get("/api/v1/dashboards")).Items().Count);
    }

    [Fact]
    public async Task Viewers_read_and_only_responders_and_admins_change_dashboards()
    {
        await using var s = await TestServer.StartAsync();
        var ct = TestContext.Current.CancellationToken;
        const string body = """{"title": "Role test", "uid": "roles"}""";
        using var anonymous = s.Client();
        using (var r = await anonymous.GetAsync("/api/v1/dashboards", ct)) Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
        using var viewer = await s.ClientAsAsync(Roles.Viewer);
        await viewer.Get("/api/v1/dashboards");
        using (var r = await viewer.PostAsync("/api/v1/dashboards/import", Json(body), ct)) Assert.Equal(HttpStatusCode.Forbidden, r.StatusCode);
        using (var r = await viewer.GetAsync("/dashboards/openpolicy-overview", ct)) Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        using var responder = await s.ClientAsAsync(Roles.Responder);
        using (var r = await responder.PostAsync("/api/v1/dashboards/import", Json(body), ct)) Assert.Equal(HttpStatusCode.Created, r.StatusCode);
        using (var r = await viewer.DeleteAsync("/api/v1/dashboards/roles", ct)) Assert.Equal(HttpStatusCode.Forbidden, r.StatusCode);
        using var admin = await s.ClientAsAsync(Roles.Admin);
        using (var r = await admin.DeleteAsync("/api/v1/dashboards/roles", ct)) Assert.Equal(HttpStatusCode.NoContent, r.StatusCode);
    }

    [Fact]
    public async Task A_provisioning_folder_is_read_on_reload_and_a_bad_file_fails_the_config_naming_it()
    {
        await using var s = await TestServer.StartAsync();
        var dir = Path.Combine(Path.GetDirectoryName(s.ConfigPath)!, "dashboards");
        File.WriteAllText(Path.Combine(dir, "extra.json"), """{"uid": "extra", "title": "Extra", "panels": [{"type": "text", "options": {"content": "# Hi"}}]}""");
        var holder = s.Get<ConfigHolder>();
        Assert.True(holder.Reload(s.Time).Ok);
        using var viewer = await s.ClientAsAsync(Roles.Viewer);
        Assert.True((await viewer.Get("/api/v1/dashboards/extra")).GetProperty("meta").Bool("provisioned"));

        File.WriteAllText(Path.Combine(dir, "extra.json"), """{"uid": "extra", "title": "Extra", "panels": [{"gridPos": {}}]}""");
        var failed = holder.Reload(s.Time);
        Assert.False(failed.Ok);
        Assert.Contains("extra.json: panels[0].type", failed.Error, StringComparison.Ordinal);

        File.Delete(Path.Combine(dir, "extra.json"));
        Assert.True(holder.Reload(s.Time).Ok);
        await viewer.Get("/api/v1/dashboards/extra", HttpStatusCode.NotFound);
    }
}
