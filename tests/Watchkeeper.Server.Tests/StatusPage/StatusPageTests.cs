using System.Net;
using System.ServiceModel.Syndication;
using System.Text;
using System.Text.Json;
using System.Xml;
using System.Xml.Linq;
using Microsoft.Data.Sqlite;
using Watchkeeper.Server.StatusPage;

namespace Watchkeeper.Server.Tests.StatusPage;

/// <summary>The public status page: levels, the Statuspage-shaped JSON, Atom, badges, notice, privacy, and the snapshot without a database.</summary>
public sealed class StatusPageTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    internal static async Task<string> Text(HttpClient c, string url, HttpStatusCode expect = HttpStatusCode.OK)
    {
        using var r = await c.GetAsync(url, Ct);
        var body = await r.Content.ReadAsStringAsync(Ct);
        Assert.True(r.StatusCode == expect, $"GET {url}: {(int)r.StatusCode} {body}");
        return body;
    }

    internal static async Task Rebuild(TestServer s) => await s.Get<StatusSnapshots>().RefreshAsync(force: true, Ct);

    internal static async Task<long> PublicIncidentAsync(HttpClient admin, string title, string severity, string[] services, string publicText, string? internalText = null)
    {
        var i = await admin.Post("/api/v1/incidents", new { title, severity, services_affected = services }, HttpStatusCode.Created);
        var id = i.Long("id");
        if (internalText is not null) await admin.Post($"/api/v1/incidents/{id}/status-updates", new { current_status = internalText, visibility = "internal" });
        await admin.Post($"/api/v1/incidents/{id}/status-updates", new { current_status = publicText, visibility = "public" });
        return id;
    }

    private static async Task PostAlertAsync(HttpClient c, string name, string severity, string job)
    {
        var body = $$$"""[{"labels":{"alertname":"{{{name}}}","severity":"{{{severity}}}","job":"{{{job}}}"},"annotations":{"summary":"internal alert text {{{name}}}"}}]""";
        using var r = await c.PostAsync("/alertmanager/api/v2/alerts", new StringContent(body, Encoding.UTF8, "application/json"), Ct);
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
    }

    private static string Level(JsonElement doc, string id) => doc.Items("components").Single(x => x.Str("id") == id).Str("status");

    [Fact]
    public async Task Levels_follow_alerts_by_severity_and_an_open_public_incident_overrides_them()
    {
        await using var s = await TestServer.StartAsync();
        using var admin = s.Client(await s.AdminApiTokenAsync());
        using var anon = s.Client();
        await Rebuild(s);
        var doc = await anon.Get("/status/api/v2/summary.json");
        Assert.All(doc.Items("components"), x => Assert.Equal("operational", x.Str("status")));
        Assert.Equal("none", doc.GetProperty("status").Str("indicator"));

        await PostAlertAsync(admin, "HighResponseTime", "warning", "web-interface");
        await PostAlertAsync(admin, "HighErrorRate", "critical", "api-service");
        await PostAlertAsync(admin, "Informational", "info", "database");
        await Rebuild(s);
        doc = await anon.Get("/status/api/v2/summary.json");
        Assert.Equal("degraded_performance", Level(doc, "web-interface"));
        Assert.Equal("partial_outage", Level(doc, "api-service"));
        Assert.Equal("operational", Level(doc, "database"));
        Assert.Equal("partial_outage", Level(doc, "platform"));
        Assert.Equal("major", doc.GetProperty("status").Str("indicator"));

        // An incident without a public update changes nothing; with one, its severity sets the level of its services.
        var quiet = await admin.Post("/api/v1/incidents", new { title = "Quiet", severity = "SEV1", services_affected = new[] { "cache" } }, HttpStatusCode.Created);
        var id = await PublicIncidentAsync(admin, "Database unavailable", "SEV1", ["database", "api-service"], "We are investigating database errors.");
        await Rebuild(s);
        doc = await anon.Get("/status/api/v2/summary.json");
        Assert.Equal("operational", Level(doc, "cache"));
        Assert.Equal("major_outage", Level(doc, "database"));
        Assert.Equal("major_outage", Level(doc, "api-service"));
        Assert.Equal("critical", doc.GetProperty("status").Str("indicator"));
        var incident = Assert.Single(doc.Items("incidents"));
        Assert.Equal(id.ToString(System.Globalization.CultureInfo.InvariantCulture), incident.Str("id"));
        Assert.Equal("critical", incident.Str("impact"));
        Assert.Equal(["api-service", "database"], incident.Items("components").Select(x => x.Str("id")).Order(StringComparer.Ordinal));

        // Resolved: the automatic levels are back, and the incident moves to the history.
        await admin.Post($"/api/v1/incidents/{id}/resolve", new { message = "fixed" });
        await admin.Post($"/api/v1/incidents/{quiet.Long("id")}/resolve", new { message = "fixed" });
        await Rebuild(s);
        doc = await anon.Get("/status/api/v2/summary.json");
        Assert.Equal("operational", Level(doc, "database"));
        Assert.Equal("partial_outage", Level(doc, "api-service"));
        Assert.Empty(doc.Items("incidents"));
        var history = await anon.Get("/status/api/v2/incidents.json");
        Assert.Equal("resolved", Assert.Single(history.Items("incidents")).Str("status"));
    }

    [Fact]
    public async Task Summary_status_components_and_incidents_have_Statuspage_v2_shape_with_CORS()
    {
        await using var s = await TestServer.StartAsync();
        using var admin = s.Client(await s.AdminApiTokenAsync());
        using var anon = s.Client();
        var id = await PublicIncidentAsync(admin, "Slow API", "SEV3", ["api-service"], "Requests are slower than usual.");
        await admin.Post($"/api/v1/incidents/{id}/status-updates", new { current_status = "A fix is rolling out.", visibility = "public", status = "identified" });
        await Rebuild(s);

        using var r = await anon.GetAsync("/status/api/v2/summary.json", Ct);
        Assert.Equal("*", r.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Equal("application/json", r.Content.Headers.ContentType!.MediaType);
        var doc = JsonDocument.Parse(await r.Content.ReadAsStringAsync(Ct)).RootElement;
        Assert.Equal(["components", "incidents", "page", "scheduled_maintenances", "status"], doc.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        var page = doc.GetProperty("page");
        foreach (var k in new[] { "id", "name", "url", "time_zone", "updated_at" }) Assert.True(page.TryGetProperty(k, out _), "page." + k);
        Assert.Equal("Open Policy Platform status", page.Str("name"));
        Assert.Contains(doc.GetProperty("status").Str("indicator"), new[] { "none", "minor", "major", "critical", "maintenance" });
        Assert.False(string.IsNullOrEmpty(doc.GetProperty("status").Str("description")));
        var comps = doc.Items("components");
        Assert.Equal(["api-service", "cache", "data", "database", "platform", "web-interface"], comps.Select(x => x.Str("id")).Order(StringComparer.Ordinal));
        foreach (var c in comps)
            foreach (var k in new[] { "id", "name", "status", "position", "group", "group_id", "updated_at", "page_id", "only_show_if_degraded", "showcase" })
                Assert.True(c.TryGetProperty(k, out _), $"component {c.Str("id")} lacks {k}");
        var platform = comps.Single(x => x.Str("id") == "platform");
        Assert.True(platform.Bool("group"));
        Assert.Equal(["api-service", "web-interface"], platform.Items("components").Select(x => x.GetString()));
        Assert.Equal("platform", comps.Single(x => x.Str("id") == "api-service").Str("group_id"));
        var incident = Assert.Single(doc.Items("incidents"));
        Assert.Equal("identified", incident.Str("status"));
        Assert.Equal("minor", incident.Str("impact"));
        foreach (var k in new[] { "id", "name", "status", "impact", "created_at", "updated_at", "monitoring_at", "resolved_at", "shortlink", "started_at", "page_id", "incident_updates", "components" })
            Assert.True(incident.TryGetProperty(k, out _), "incident." + k);
        var updates = incident.Items("incident_updates");
        Assert.Equal(["A fix is rolling out.", "Requests are slower than usual."], updates.Select(u => u.Str("body")));
        Assert.Equal(["identified", "investigating"], updates.Select(u => u.Str("status")));
        foreach (var u in updates) foreach (var k in new[] { "id", "status", "body", "incident_id", "created_at", "updated_at", "display_at" }) Assert.True(u.TryGetProperty(k, out _), "update." + k);

        var status = await anon.Get("/status/api/v2/status.json");
        Assert.Equal(["page", "status"], status.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.Equal("minor", status.GetProperty("status").Str("indicator"));
        var components = await anon.Get("/status/api/v2/components.json");
        Assert.Equal(6, components.Items("components").Count);
        var incidents = await anon.Get("/status/api/v2/incidents.json");
        Assert.Single(incidents.Items("incidents"));

        // Conditional GET: the snapshot's ETag answers 304 until it changes.
        using var req = new HttpRequestMessage(HttpMethod.Get, "/status/api/v2/summary.json");
        req.Headers.TryAddWithoutValidation("If-None-Match", r.Headers.ETag!.Tag);
        using var again = await anon.SendAsync(req, Ct);
        Assert.Equal(HttpStatusCode.NotModified, again.StatusCode);
    }

    [Fact]
    public async Task Documents_come_precompressed_with_their_own_ETags_and_are_counted_in_request_metrics()
    {
        await using var s = await TestServer.StartAsync();
        using var anon = s.Client();
        await Rebuild(s);
        var metrics = s.Get<Watchkeeper.Server.Platform.SelfMetrics>();
        var requests = metrics.Counter("watchkeeper_http_requests_total", "HTTP requests served, by route and status code.", "method", "route", "code");
        var before = requests.Get("GET", "/status", "200");

        async Task<(HttpResponseMessage R, byte[] Body)> Fetch(string path, string? acceptEncoding, string? ifNoneMatch = null)
        {
            using var req = new HttpRequestMessage(HttpMethod.Get, path);
            if (acceptEncoding is not null) req.Headers.TryAddWithoutValidation("Accept-Encoding", acceptEncoding);
            if (ifNoneMatch is not null) req.Headers.TryAddWithoutValidation("If-None-Match", ifNoneMatch);
            var r = await anon.SendAsync(req, Ct);
            return (r, await r.Content.ReadAsByteArrayAsync(Ct));
        }

        static byte[] Decode(string encoding, byte[] data)
        {
            using var input = new MemoryStream(data);
            using Stream z = encoding == "br" ? new System.IO.Compression.BrotliStream(input, System.IO.Compression.CompressionMode.Decompress)
                : new System.IO.Compression.GZipStream(input, System.IO.Compression.CompressionMode.Decompress);
            using var output = new MemoryStream();
            z.CopyTo(output);
            return output.ToArray();
        }

        foreach (var path in new[] { "/status", "/status/api/v2/summary.json", "/status/feed.atom", "/status/badge/cache.svg" })
        {
            var (plain, plainBody) = await Fetch(path, null);
            Assert.Equal(HttpStatusCode.OK, plain.StatusCode);
            Assert.Empty(plain.Content.Headers.ContentEncoding);
            Assert.Contains("Accept-Encoding", plain.Headers.Vary);
            var tags = new HashSet<string> { plain.Headers.ETag!.Tag };
            var mediaType = plain.Content.Headers.ContentType!.MediaType;
            plain.Dispose();
            foreach (var (accept, encoding) in new[] { ("gzip, deflate, br", "br"), ("br;q=0, gzip", "gzip"), ("gzip;q=0.5, br;q=0.8", "br"), ("identity", (string?)null) })
            {
                var (r, body) = await Fetch(path, accept);
                Assert.Equal(HttpStatusCode.OK, r.StatusCode);
                Assert.Equal(mediaType, r.Content.Headers.ContentType!.MediaType);
                if (encoding is null)
                {
                    Assert.Empty(r.Content.Headers.ContentEncoding);
                    Assert.Equal(plainBody, body);
                    r.Dispose();
                    continue;
                }
                Assert.Equal([encoding], r.Content.Headers.ContentEncoding);
                Assert.Equal(plainBody, Decode(encoding, body));
                tags.Add(r.Headers.ETag!.Tag);
                // The encoded variant's own ETag answers 304 to a client that accepts that encoding.
                var (again, _) = await Fetch(path, accept, r.Headers.ETag!.Tag);
                Assert.Equal(HttpStatusCode.NotModified, again.StatusCode);
                again.Dispose();
                r.Dispose();
            }
            Assert.Equal(3, tags.Count);
        }
        var (star, _) = await Fetch("/status", null, "*");
        Assert.Equal(HttpStatusCode.NotModified, star.StatusCode);
        star.Dispose();
        Assert.True(requests.Get("GET", "/status", "200") >= before + 5, "status page requests are counted");
        Assert.True(requests.Get("GET", "/status", "304") >= 3, "304s are counted");
        // Not a document of the snapshot: the endpoints answer (a problem, not an empty 200).
        using var missing = await anon.GetAsync("/status/badge/nope.svg", Ct);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("application/problem+json", missing.Content.Headers.ContentType!.MediaType);
    }

    [Fact]
    public async Task Atom_feed_is_valid_Atom_with_one_entry_per_public_update_and_badges_are_SVG()
    {
        await using var s = await TestServer.StartAsync();
        using var admin = s.Client(await s.AdminApiTokenAsync());
        using var anon = s.Client();
        var id = await PublicIncidentAsync(admin, "Web outage", "SEV2", ["web-interface"], "The web interface is down <for some> & we are on it.");
        await admin.Post($"/api/v1/incidents/{id}/status-updates", new { current_status = "Recovered; monitoring.", visibility = "public", status = "monitoring" });
        await Rebuild(s);

        using var r = await anon.GetAsync("/status/feed.atom", Ct);
        Assert.Equal("application/atom+xml", r.Content.Headers.ContentType!.MediaType);
        var xml = await r.Content.ReadAsStringAsync(Ct);
        using (var reader = XmlReader.Create(new StringReader(xml)))
        {
            var feed = SyndicationFeed.Load(reader);
            Assert.Equal("Open Policy Platform status", feed.Title.Text);
            Assert.Equal(2, feed.Items.Count());
            var first = feed.Items.First();
            Assert.Equal("Web outage: Monitoring", first.Title.Text);
            Assert.Equal("Recovered; monitoring.", ((TextSyndicationContent)first.Content).Text);
            Assert.Contains(feed.Items, i => ((TextSyndicationContent)i.Content).Text == "The web interface is down <for some> & we are on it.");
            Assert.All(feed.Items, i => Assert.StartsWith("urn:watchkeeper:status:incident:", i.Id, StringComparison.Ordinal));
        }
        XNamespace atom = "http://www.w3.org/2005/Atom";
        var root = XDocument.Parse(xml).Root!;
        Assert.Equal(atom + "feed", root.Name);
        foreach (var e in root.Elements(atom + "entry"))
            foreach (var n in new[] { "id", "title", "updated" }) Assert.NotNull(e.Element(atom + n));

        var svg = await Text(anon, "/status/badge/web-interface.svg");
        var doc = XDocument.Parse(svg);
        Assert.Equal(XName.Get("svg", "http://www.w3.org/2000/svg"), doc.Root!.Name);
        Assert.Contains("Web interface: partial outage", doc.Root.Attribute("aria-label")!.Value, StringComparison.Ordinal);
        Assert.Contains("operational", await Text(anon, "/status/badge/cache.svg"), StringComparison.Ordinal);
        Assert.Contains("partial outage", await Text(anon, "/status/badge/platform.svg"), StringComparison.Ordinal);
        using var missing = await anon.GetAsync("/status/badge/nope.svg", Ct);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("application/problem+json", missing.Content.Headers.ContentType!.MediaType);
    }

    [Fact]
    public async Task Notice_and_embed_script_tell_other_sites_about_an_open_incident()
    {
        await using var s = await TestServer.StartAsync();
        using var admin = s.Client(await s.AdminApiTokenAsync());
        using var anon = s.Client();
        await Rebuild(s);
        var quiet = await anon.Get("/status/api/v2/notice.json");
        Assert.False(quiet.Bool("active"));
        var id = await PublicIncidentAsync(admin, "Login failures", "SEV2", ["web-interface"], "Some users cannot log in.");
        await Rebuild(s);
        using var r = await anon.GetAsync("/status/api/v2/notice.json", Ct);
        Assert.Equal("*", r.Headers.GetValues("Access-Control-Allow-Origin").Single());
        var n = JsonDocument.Parse(await r.Content.ReadAsStringAsync(Ct)).RootElement;
        Assert.True(n.Bool("active"));
        Assert.Equal("major", n.Str("indicator"));
        Assert.Equal("Login failures", n.Str("title"));
        Assert.Equal("Some users cannot log in.", n.Str("message"));
        Assert.EndsWith($"#incident-{id}", n.Str("url"), StringComparison.Ordinal);
        using var js = await anon.GetAsync("/status/embed.js", Ct);
        Assert.Equal(HttpStatusCode.OK, js.StatusCode);
        Assert.Equal("text/javascript", js.Content.Headers.ContentType!.MediaType);
        Assert.Contains("/status/api/v2/notice.json", await js.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
    }

    [Fact]
    public async Task No_internal_note_private_incident_or_subscriber_address_reaches_a_public_endpoint()
    {
        await using var s = await TestServer.StartAsync(editConfig: y => y.Replace("    webhooks: true", "    webhooks: true\n    allow_private_webhooks: true", StringComparison.Ordinal));
        using var admin = s.Client(await s.AdminApiTokenAsync());
        using var anon = s.Client();
        // A private incident (no public update), with notes and an internal update.
        var hidden = await admin.Post("/api/v1/incidents", new { title = "SECRET-PRIVATE-TITLE", severity = "SEV1", services_affected = new[] { "api-service" }, summary = "SECRET-SUMMARY" }, HttpStatusCode.Created);
        await admin.Post($"/api/v1/incidents/{hidden.Long("id")}/notes", new { text = "SECRET-NOTE-1" });
        await admin.Post($"/api/v1/incidents/{hidden.Long("id")}/status-updates", new { current_status = "SECRET-INTERNAL-1", visibility = "internal" });
        // A public incident with an internal update and a note beside its public one.
        var id = await PublicIncidentAsync(admin, "Public trouble", "SEV3", ["cache"], "PUBLIC-TEXT", internalText: "SECRET-INTERNAL-2");
        await admin.Post($"/api/v1/incidents/{id}/notes", new { text = "SECRET-NOTE-2" });
        await admin.Put($"/api/v1/incidents/{id}/roles", new { commander = "SECRET-COMMANDER" });
        await PostAlertAsync(admin, "SECRETALERT", "warning", "database");
        // A subscriber.
        using (var form = new FormUrlEncodedContent(new Dictionary<string, string> { ["kind"] = "webhook", ["target"] = "http://127.0.0.1:9/SECRET-SUBSCRIBER-PATH" }))
            Assert.Equal(HttpStatusCode.Accepted, (await anon.PostAsync("/status/subscribe", form, Ct)).StatusCode);
        await Rebuild(s);

        var paths = new[]
        {
            "/status", "/status/feed.atom", "/status/api/v2/summary.json", "/status/api/v2/status.json", "/status/api/v2/components.json",
            "/status/api/v2/incidents.json", "/status/api/v2/notice.json", "/status/badge/api-service.svg", "/status/badge/cache.svg", "/status/badge/database.svg",
        };
        var all = new StringBuilder();
        foreach (var p in paths) all.Append(await Text(anon, p));
        var text = all.ToString();
        Assert.Contains("PUBLIC-TEXT", text, StringComparison.Ordinal);
        foreach (var secret in new[] { "SECRET-PRIVATE-TITLE", "SECRET-SUMMARY", "SECRET-NOTE", "SECRET-INTERNAL", "SECRET-COMMANDER", "SECRETALERT", "SECRET-SUBSCRIBER", "127.0.0.1:9" })
            Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
        // The private SEV1 incident does not set a level; the alert does (a level, not its name).
        var doc = await anon.Get("/status/api/v2/summary.json");
        Assert.Equal("operational", Level(doc, "api-service"));
        Assert.Equal("degraded_performance", Level(doc, "database"));
        // Admins see the address.
        var list = await admin.Get("/api/v1/status-page/subscribers");
        Assert.Contains("SECRET-SUBSCRIBER-PATH", Assert.Single(list.Items()).Str("target"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_page_is_served_from_the_snapshot_with_its_age_while_the_database_is_gone()
    {
        await using var s = await TestServer.StartAsync();
        using var admin = s.Client(await s.AdminApiTokenAsync());
        using var anon = s.Client();
        await PublicIncidentAsync(admin, "Cache evictions", "SEV3", ["cache"], "Cache hit rate is low.");
        await Rebuild(s);
        var before = await Text(anon, "/status");
        Assert.Contains("Cache hit rate is low.", before, StringComparison.Ordinal);
        Assert.DoesNotContain("may be out of date", before, StringComparison.Ordinal);

        // The database file disappears (a directory takes its place, so it cannot be recreated).
        var path = Path.Combine(s.DataDir, "watchkeeper.db");
        SqliteConnection.ClearAllPools();
        File.Move(path, path + ".away");
        foreach (var f in new[] { path + "-wal", path + "-shm" }) if (File.Exists(f)) File.Move(f, f + ".away");
        Directory.CreateDirectory(path);
        try
        {
            // The periodic rebuild (rebuild_interval 1m) reads the database even when this process wrote nothing.
            s.Time.Advance(TimeSpan.FromMinutes(7));
            await s.Get<StatusSnapshots>().RefreshAsync(force: false, Ct);
            Assert.NotNull(s.Get<StatusSnapshots>().DatabaseError);
            var page = await Text(anon, "/status");
            Assert.Contains("Cache hit rate is low.", page, StringComparison.Ordinal);
            Assert.Contains("(7 minutes ago) and may be out of date", page, StringComparison.Ordinal);
            var summary = await anon.Get("/status/api/v2/summary.json");
            Assert.Equal("degraded_performance", Level(summary, "cache"));
        }
        finally
        {
            Directory.Delete(path);
            File.Move(path + ".away", path);
            foreach (var f in new[] { path + "-wal", path + "-shm" }) if (File.Exists(f + ".away")) File.Move(f + ".away", f);
        }
        await s.Get<StatusSnapshots>().RefreshAsync(force: false, Ct);
        Assert.Null(s.Get<StatusSnapshots>().DatabaseError);
        Assert.DoesNotContain("may be out of date", await Text(anon, "/status"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bad_status_page_section_is_refused_naming_file_line_and_key()
    {
        var dir = Directory.CreateTempSubdirectory("wk-status-cfg-").FullName;
        try
        {
            var path = TestServer.CopyConfig(dir, y => y.Replace("      group: data\n      service: cache", "      group: nowhere\n      service: cache", StringComparison.Ordinal));
            var ex = Assert.Throws<Watchkeeper.Metrics.Configuration.ConfigException>(() => Watchkeeper.Server.Platform.ConfigLoader.Load(path));
            Assert.Equal("status_page.components[3].group", ex.Key);
            Assert.Contains("unknown group 'nowhere'", ex.Problem, StringComparison.Ordinal);
            path = TestServer.CopyConfig(dir, y => y.Replace("    email: false", "    email: true", StringComparison.Ordinal));
            ex = Assert.Throws<Watchkeeper.Metrics.Configuration.ConfigException>(() => Watchkeeper.Server.Platform.ConfigLoader.Load(path));
            Assert.StartsWith("status_page.subscribers.", ex.Key, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
