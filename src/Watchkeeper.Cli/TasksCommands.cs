using System.CommandLine;

namespace Watchkeeper.Cli;

/// <summary><c>wk tasks list|done</c>: the recurring operations tasks (operations manual 3.1; docs/tasks.md).</summary>
public static class TasksCommands
{
    public static Command Build(WkConsole io, Globals g)
    {
        var cmd = new Command("tasks", "Recurring operations tasks: the daily, weekly, monthly and quarterly lists");

        var overdue = new Option<bool>("--overdue") { Description = "Only the overdue ones" };
        var list = new Command("list", "Every task with its owner, due time and state (overdue first)") { overdue };
        list.Aliases.Add("ls");
        list.Run(io, g, async (ctx, ct) =>
        {
            var r = await ctx.Api().GetAsync("api/v1/tasks", ct);
            var tasks = r.As<List<TaskDto>>();
            if (ctx.Json)
            {
                if (ctx.Get(overdue)) ctx.PrintJson(System.Text.Json.JsonSerializer.SerializeToElement(tasks.Where(t => t.Status == "overdue"), Api.Json));
                else ctx.PrintJson(r);
                return ExitCodes.Ok;
            }
            var t = Fmt.Table("ID", "LIST", "TITLE", "OWNER", "DUE", "STATE", "LAST DONE");
            foreach (var x in tasks.Where(x => !ctx.Get(overdue) || x.Status == "overdue").OrderByDescending(x => x.Status == "overdue").ThenBy(x => x.DueAt))
            {
                var state = x.Status switch
                {
                    "overdue" => $"OVERDUE {Fmt.Duration(ctx.Now - x.DueAt)}",
                    "done" => "done",
                    _ => $"in {Fmt.Duration(x.DueAt - ctx.Now)}",
                };
                t.Row(x.Id, x.Group, x.Title, x.Owner ?? "nobody on call", Fmt.Time(x.DueAt), state,
                    x.LastCompletion is { } l ? $"{Fmt.Time(l.CompletedAt)} by {l.CompletedBy}" : "never");
            }
            ctx.Write(t);
            var n = tasks.Count(x => x.Status == "overdue");
            ctx.Line(n == 0 ? "No task is overdue." : $"{n} task(s) overdue.");
            return ExitCodes.Ok;
        });

        var id = new Argument<string>("id") { Description = "The task's id (wk tasks list)" };
        var note = new Option<string?>("--note") { Description = "What was found or done (recorded with the completion)", HelpName = "TEXT" };
        var done = new Command("done", "Mark a task done for its current occurrence (the overdue one, else the next); resolves its overdue alert") { id, note };
        done.Run(io, g, async (ctx, ct) =>
        {
            var r = await ctx.Api().PostAsync("api/v1/tasks/" + Uri.EscapeDataString(ctx.Get(id)) + "/done", new { note = ctx.Get(note) }, ct);
            return ctx.Print(r, () =>
            {
                var d = r.As<TaskDoneDto>();
                ctx.Line($"Done: {d.Task.Title} (due {Fmt.Time(d.Completion.DueAt)}{(d.Completion.Late ? ", late" : "")}). Next due {Fmt.Time(d.Task.DueAt)}.");
            });
        });

        cmd.Subcommands.Add(list);
        cmd.Subcommands.Add(done);
        return cmd;
    }
}

public sealed record TaskCompletionDto(long Id, string TaskId, DateTimeOffset DueAt, DateTimeOffset CompletedAt, string CompletedBy, string Note, bool Late);

public sealed record TaskDto(string Id, string Title, string Description, string Group, string Schedule, string TimeZone, string OwnerRule, string? Owner,
    string Status, DateTimeOffset DueAt, DateTimeOffset NextDueAt, TaskCompletionDto? LastCompletion);

public sealed record TaskDoneDto(TaskCompletionDto Completion, TaskDto Task);
