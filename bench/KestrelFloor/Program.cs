// A do-nothing alerts endpoint: the least any implementation of POST /api/v2/alerts in ASP.NET Core does per request
// (accept the connection, parse the request, read the body, answer 200). bench/alerting/floor.sh drives it with the
// same wrk load as the side-by-side run, to tell how much of Watchkeeper's time per request is the platform's.
var listen = args.Length > 0 ? args[0] : "http://127.0.0.1:22111";
var builder = WebApplication.CreateSlimBuilder();
builder.Logging.ClearProviders();
var app = builder.Build();
app.MapPost("/alertmanager/api/v2/alerts", async (HttpContext ctx) =>
{
    var buffer = new byte[16 * 1024];
    while (await ctx.Request.Body.ReadAsync(buffer, ctx.RequestAborted) > 0)
    {
    }
    return Results.Ok();
});
app.MapGet("/-/ready", () => "ready");
await app.RunAsync(listen);
