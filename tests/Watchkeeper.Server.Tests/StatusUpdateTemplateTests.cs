using Watchkeeper.Metrics.Configuration;
using Watchkeeper.Server.Incidents;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Tests;

/// <summary>Status updates render with the one template engine: placeholders as functions or fields, Go's syntax, errors at load.</summary>
public sealed class StatusUpdateTemplateTests
{
    private static readonly Dictionary<string, string> Values = new()
    {
        ["title"] = "API down", ["severity"] = "SEV2", ["commander"] = "unassigned", ["services_affected"] = "api-service",
    };

    [Fact]
    public void Placeholders_work_as_functions_and_fields_with_go_syntax()
    {
        Assert.Equal("## API down (SEV2) api-service",
            StatusUpdateTemplate.Render("## {{title}} ({{ .severity }}) {{services_affected}}", Values));
        Assert.Equal("no commander yet; \"API down\"",
            StatusUpdateTemplate.Render("{{ if eq commander \"unassigned\" }}no commander yet{{ end }}; {{ .title | printf \"%q\" }}", Values));
        Assert.Equal("", StatusUpdateTemplate.Render("{{ .contact }}{{contact}}", Values));
    }

    [Fact]
    public void The_shipped_template_renders_every_placeholder()
    {
        var text = File.ReadAllText(Path.Combine(Path.GetDirectoryName(TestServer.DefaultConfig)!, "templates", "status-update.md"));
        Assert.Null(StatusUpdateTemplate.Check(text));
        var all = StatusUpdateTemplate.Placeholders.ToDictionary(p => p, p => "<" + p + ">");
        var body = StatusUpdateTemplate.Render(text, all);
        Assert.DoesNotContain("{{", body, StringComparison.Ordinal);
        Assert.Contains("## Incident: <title>", body, StringComparison.Ordinal);
    }

    [Fact]
    public void A_template_that_does_not_parse_is_a_configuration_error()
    {
        var dir = Directory.CreateTempSubdirectory("wk-sut-").FullName;
        try
        {
            var path = TestServer.CopyConfig(dir);
            File.WriteAllText(Path.Combine(dir, "config", "templates", "status-update.md"), "# Update\n\n{{titel}}\n");
            var ex = Assert.Throws<ConfigException>(() => ConfigLoader.Load(path));
            Assert.Contains("incidents.status_update_template", ex.Message, StringComparison.Ordinal);
            Assert.Contains("template: status-update:3: function \"titel\" not defined", ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
