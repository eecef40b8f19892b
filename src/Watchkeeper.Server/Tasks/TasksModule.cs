using System.Security.Claims;
using Watchkeeper.Server.Platform;
using Watchkeeper.Server.Tasks.Ui;

namespace Watchkeeper.Server.Tasks;

/// <summary>Recurring operations tasks: <c>/api/v1/tasks</c>, the /tasks page and the overdue-alert worker.</summary>
public static class TasksModule
{
    public static void AddTasks(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<TaskService>();
        builder.Services.AddHostedService<TaskAlertWorker>();
        builder.Services.AddTasksPages();
    }

    public static void MapTasks(this WebApplication app)
    {
        var g = app.MapGroup("/api/v1/tasks").WithTags("tasks");
        g.MapGet("/", async (TaskService tasks, CancellationToken ct) => TypedResults.Ok((await tasks.ListAsync(ct)).Select(TaskView.From).ToList()))
            .RequireAuthorization(Policies.Viewer);
        g.MapGet("/{task}/completions", async (string task, string? limit, TaskService tasks, CancellationToken ct) =>
            {
                var n = 100;
                if (limit is { Length: > 0 } && !int.TryParse(limit, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out n))
                    throw new ValidationException("limit", $"'{limit}' is not a whole number");
                return TypedResults.Ok(await tasks.CompletionsAsync(task, n, ct));
            })
            .ProducesValidationProblem().RequireAuthorization(Policies.Viewer);
        g.MapPost("/{task}/done", async (string task, TaskDoneRequest? req, TaskService tasks, ClaimsPrincipal user, CancellationToken ct) =>
                TypedResults.Ok(await tasks.DoneAsync(task, user.Actor(), req?.Note, ct)))
            .ProducesValidationProblem().RequireAuthorization(Policies.Responder);
        TasksPages.Map(app);
    }
}

/// <summary>
/// Every <c>tasks.check_interval</c>, on the replica holding the leader lease: an info alert per overdue task (through
/// the alert store, so it is routed, silenced and notified like any other), resolved once the task is done.
/// </summary>
public sealed class TaskAlertWorker(TaskService tasks, ConfigHolder config, ILeadership leadership, TimeProvider time, ILogger<TaskAlertWorker> log)
    : BackgroundService
{
    /// <summary>Before the server serves: the configured tasks are recorded as seen from now (earlier occurrences are not missed ones).</summary>
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await tasks.RecordKnownAsync(cancellationToken);
        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = config.Current.Tasks.CheckInterval.Value;
        using var timer = new PeriodicTimer(interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                // Off the timer's thread, so ticks that fall due together (a clock that jumped) run the check once.
                await Task.Yield();
                if (!leadership.IsLeader) continue;
                try
                {
                    await tasks.SendAlertsAsync(time.GetUtcNow() - interval * 3, stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    log.LogError(ex, "Checking operations tasks for overdue ones failed");
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
