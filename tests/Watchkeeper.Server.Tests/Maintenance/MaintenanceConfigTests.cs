using Watchkeeper.Metrics.Configuration;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Tests.Maintenance;

/// <summary>The maintenance section's errors name file, line and key; the shipped schedule loads.</summary>
public sealed class MaintenanceConfigTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("wk-maint-config-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    [Fact]
    public void The_shipped_schedule_loads()
    {
        var c = ConfigLoader.Load(TestServer.DefaultConfig);
        Assert.Equal(["weekly-updates", "monthly-performance"], c.Maintenance.Windows.Select(w => w.Id));
        Assert.Equal(TimeSpan.FromHours(24), c.Maintenance.NotifyBefore.Value);
        Assert.Equal(99, c.Maintenance.SuccessTarget);
    }

    [Theory]
    [InlineData("      cron: \"0 2 * * SUN\"", "      cron: \"0 2 * * FUNDAY\"", "maintenance.windows[0].cron", "is not a five-field cron expression")]
    [InlineData("      time_zone: Europe/London", "      time_zone: Europe/Narnia", "maintenance.windows[1].time_zone", "unknown time zone 'Europe/Narnia'")]
    [InlineData("      rule: 2nd tuesday", "      rule: 2nd tuesday and thursday", "maintenance.windows[1].rule", "is not a monthly rule")]
    [InlineData("      components: [database, cache]", "      components: [database, mainframe]", "maintenance.windows[1].components[1]", "unknown component 'mainframe'")]
    [InlineData("  success_target: 99", "  success_target: 101", "maintenance.success_target", "must be a percentage")]
    public void Errors_name_file_line_and_key(string find, string replace, string key, string problem)
    {
        var path = TestServer.CopyConfig(_dir, y =>
        {
            Assert.Contains(find, y, StringComparison.Ordinal);
            return y.Replace(find, replace, StringComparison.Ordinal);
        });
        var lines = File.ReadAllLines(path);
        var line = Array.FindIndex(lines, l => l.Contains(replace.Trim(), StringComparison.Ordinal)) + 1;
        var ex = Assert.Throws<ConfigException>(() => ConfigLoader.Load(path));
        Assert.Equal(key, ex.Key);
        Assert.Contains(problem, ex.Problem, StringComparison.Ordinal);
        // The line of the key (a list element's line for components[1]).
        Assert.Equal(line, ex.Line);
        Assert.StartsWith($"{path}:{line}:{key}: ", ex.Message, StringComparison.Ordinal);
    }
}
