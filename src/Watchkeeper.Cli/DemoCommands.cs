using System.CommandLine;
using System.Globalization;
using System.Text.Json;

namespace Watchkeeper.Cli;

/// <summary><c>wk demo list|fault</c>: the simulated api-service and web-interface and their fault switch.</summary>
public static class DemoCommands
{
    public static Command Build(WkConsole io, Globals g)
    {
        var cmd = new Command("demo", "The simulated services api-service and web-interface: metrics to query and faults to inject; the shipped rules alert on them (wk demo fault api-service --down: ServiceDown pending, then firing after 1m)");

        var list = new Command("list", "Show the demo services and their faults");
        list.Aliases.Add("ls");
        list.Run(io, g, async (ctx, ct) =>
        {
            var r = await ctx.Api().GetAsync("api/v1/demo", ct);
            return ctx.Print(r, () => PrintTable(ctx, r.Json.EnumerateArray()));
        });

        var service = new Argument<string>("SERVICE") { Description = "api-service or web-interface" };
        var down = new Option<bool>("--down") { Description = "Stop answering scrapes: up == 0" };
        var up = new Option<bool>("--up") { Description = "Answer scrapes again (keeps other faults)" };
        var errorRate = new Option<double?>("--error-rate") { Description = "Fraction of requests answering 5xx, 0-1", HelpName = "FRACTION" };
        var latency = new Option<string?>("--latency") { Description = "Added response latency, e.g. 800ms", HelpName = "DURATION" };
        var clear = new Option<bool>("--clear") { Description = "Remove every fault" };
        var fault = new Command("fault", "Inject or clear a fault in a demo service") { service, down, up, errorRate, latency, clear };
        fault.Run(io, g, async (ctx, ct) =>
        {
            var name = ctx.Get(service);
            var isDown = ctx.Get(down);
            var isUp = ctx.Get(up);
            var rate = ctx.Get(errorRate);
            var lat = ctx.Get(latency);
            var clr = ctx.Get(clear);
            if (isDown && isUp) throw new WkException(ExitCodes.Usage, "--down and --up contradict each other");
            if (!isDown && !isUp && rate is null && lat is null && !clr)
                throw new WkException(ExitCodes.Usage, "name a fault: --down, --up, --error-rate FRACTION, --latency DURATION or --clear");
            if (rate is { } f && (double.IsNaN(f) || f < 0 || f > 1)) throw new WkException(ExitCodes.Usage, $"--error-rate {f.ToString(CultureInfo.InvariantCulture)} is not a fraction between 0 and 1");
            var body = new Dictionary<string, object?>();
            if (clr) body["clear"] = true;
            if (isDown) body["down"] = true;
            if (isUp) body["down"] = false;
            if (rate is not null) body["error_rate"] = rate;
            if (lat is not null) body["latency"] = lat;
            var r = await ctx.Api().PutAsync($"api/v1/demo/{Uri.EscapeDataString(name)}/faults", body, ct);
            return ctx.Print(r, () => PrintTable(ctx, [r.Json]));
        });

        cmd.Subcommands.Add(list);
        cmd.Subcommands.Add(fault);
        return cmd;
    }

    private static void PrintTable(Ctx ctx, IEnumerable<JsonElement> services)
    {
        var t = Fmt.Table("SERVICE", "DOWN", "ERROR RATE", "ADDED LATENCY", "TARGET");
        foreach (var s in services)
        {
            t.Row(s.GetProperty("service").GetString() ?? "", s.GetProperty("down").GetBoolean() ? "yes" : "no",
                s.GetProperty("error_rate").GetDouble().ToString("0.###", CultureInfo.InvariantCulture),
                s.GetProperty("latency").GetString() ?? "", s.GetProperty("target").GetString() ?? "");
        }
        ctx.Write(t);
    }
}
