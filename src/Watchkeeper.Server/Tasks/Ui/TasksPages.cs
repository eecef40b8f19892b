using System.Security.Claims;
using Watchkeeper.Server.Platform;
using Watchkeeper.Server.Web;

namespace Watchkeeper.Server.Tasks.Ui;

/// <summary><c>/tasks</c>: the operations tasks with due and overdue state; responders mark them done (a plain form post).</summary>
public static class TasksPages
{
    public static void AddTasksPages(this IServiceCollection services) =>
        services.AddNavItem(new NavItem("tasks", "Tasks", "/tasks", 340));

    public static void Map(WebApplication app)
    {
        var pages = app.MapPages();
        pages.MapGet("/tasks", async (HttpContext http, TaskService tasks, string? done) =>
            await Show(new PageContext(http), tasks, null, done is { Length: > 0 } ? "Marked done." : null, 200)).RequireAuthorization(Policies.Viewer);
        pages.MapPost("/tasks/{task}/done", async (string task, HttpContext http, IFormCollection form, TaskService tasks, ClaimsPrincipal user) =>
        {
            try
            {
                await tasks.DoneAsync(task, user.Actor(), form["note"].ToString(), http.RequestAborted);
                return Results.Redirect($"/tasks?done={Uri.EscapeDataString(task)}#task-{Uri.EscapeDataString(task)}");
            }
            catch (ProblemException ex)
            {
                return await Show(new PageContext(http), tasks, FormError.From(ex, task, form), null, ex.Status);
            }
        }).RequireAuthorization(Policies.Responder);
    }

    private static async Task<IResult> Show(PageContext ctx, TaskService tasks, FormError? error, string? done, int status) =>
        Pages.Render<TasksPage>(status, new()
        {
            [nameof(TasksPage.Ctx)] = ctx,
            [nameof(TasksPage.Tasks)] = await tasks.ListAsync(ctx.Http.RequestAborted),
            [nameof(TasksPage.Err)] = error,
            [nameof(TasksPage.Done)] = done,
        });
}
