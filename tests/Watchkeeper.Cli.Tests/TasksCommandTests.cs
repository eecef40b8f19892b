using Watchkeeper.Server.Tests;

namespace Watchkeeper.Cli.Tests;

public sealed class TasksCommandTests
{
    [Fact]
    public async Task Tasks_list_shows_overdue_first_and_done_records_a_completion()
    {
        await using var s = await TestServer.StartAsync();
        var wk = await new Wk(s).LoginAsync();
        s.Time.Advance(TimeSpan.FromMinutes(90));

        var list = await wk.RunAsync("tasks", "list");
        Assert.True(list.Code == 0, list.ToString());
        Assert.Contains("health-check-review", list.Out);
        Assert.Contains("OVERDUE", list.Out);
        Assert.Contains("4 task(s) overdue.", list.Out);
        var overdue = await wk.JsonAsync("tasks", "list", "--overdue");
        Assert.Equal(4, overdue.GetArrayLength());

        var done = await wk.RunAsync("tasks", "done", "alert-review", "--note", "acknowledged two warnings");
        Assert.True(done.Code == 0, done.ToString());
        Assert.Contains("Done: Review and acknowledge alerts (due 2026-11-02 10:00", done.Out);
        Assert.Contains(", late)", done.Out);
        Assert.Equal(3, (await wk.JsonAsync("tasks", "list", "--overdue")).GetArrayLength());

        var unknown = await wk.RunAsync("tasks", "done", "no-such-task");
        Assert.NotEqual(0, unknown.Code);
        Assert.Single(unknown.Err.TrimEnd().Split('\n'));
        Assert.Contains("no task 'no-such-task'", unknown.Err);
    }
}
