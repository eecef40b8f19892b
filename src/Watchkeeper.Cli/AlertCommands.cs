using System.CommandLine;
using System.Text.Json;

namespace Watchkeeper.Cli;

/// <summary><c>wk alert list</c>: the alerts the Alertmanager core holds (API v2 under /alertmanager).</summary>
public static class AlertCommands
{
    public const string Base = "alertmanager/api/v2";

    public static Command Build(WkConsole io, Globals g)
    {
        var cmd = new Command("alert", "Alerts received from rules and from Prometheus (Alertmanager API v2)");
        cmd.Aliases.Add("alerts");
        var filter = new Argument<string[]>("matcher") { Description = "Matchers such as alertname=ServiceDown or 'severity=~\"critical|warning\"'", HelpName = "MATCHER", Arity = ArgumentArity.ZeroOrMore };
        var silenced = new Option<bool>("--silenced") { Description = "Also list silenced alerts" };
        var inhibited = new Option<bool>("--inhibited") { Description = "Also list inhibited alerts" };
        var receiver = new Option<string?>("--receiver") { Description = "Only alerts routed to receivers matching this regex", HelpName = "REGEX" };
        var list = new Command("list", "List active alerts (firing and not muted unless asked)") { filter, silenced, inhibited, receiver };
        list.Aliases.Add("ls");
        list.Run(io, g, async (ctx, ct) =>
        {
            var q = new List<string> { "active=true", "silenced=" + (ctx.Get(silenced) ? "true" : "false"), "inhibited=" + (ctx.Get(inhibited) ? "true" : "false") };
            foreach (var m in ctx.Get(filter) ?? []) q.Add("filter=" + Uri.EscapeDataString(m));
            if (ctx.Get(receiver) is { Length: > 0 } r) q.Add("receiver=" + Uri.EscapeDataString(r));
            var resp = await ctx.Api().GetAsync($"{Base}/alerts?{string.Join('&', q)}", ct);
            return ctx.Print(resp, () =>
            {
                var t = Fmt.Table("ALERT", "STATE", "STARTED", "LABELS", "SUMMARY");
                foreach (var a in resp.Json.EnumerateArray())
                {
                    var labels = a.GetProperty("labels");
                    var name = labels.TryGetProperty("alertname", out var n) ? n.GetString() : "";
                    var rest = string.Join(", ", labels.EnumerateObject().Where(p => p.Name != "alertname").Select(p => $"{p.Name}={p.Value.GetString()}"));
                    var state = a.GetProperty("status").GetProperty("state").GetString();
                    var summary = a.TryGetProperty("annotations", out var an) && an.TryGetProperty("summary", out var s) ? s.GetString() : "";
                    t.Row(name, state, Fmt.Relative(a.GetProperty("startsAt").GetDateTimeOffset(), ctx.Now), rest, summary);
                }
                ctx.Write(t);
            });
        });
        cmd.Subcommands.Add(list);
        return cmd;
    }

    public static string Str(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : "";
}
