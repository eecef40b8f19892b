using System.CommandLine;
using Watchkeeper.Alerting.Routing;

namespace Watchkeeper.Cli;

/// <summary><c>wk silence add|list|expire</c>: silences with Alertmanager's matchers and rules.</summary>
public static class SilenceCommands
{
    private const string Base = AlertCommands.Base;

    public static Command Build(WkConsole io, Globals g)
    {
        var cmd = new Command("silence", "Silence alerts: mute those matching all matchers for a while");
        cmd.Aliases.Add("silences");

        var matchers = new Argument<string[]>("matcher") { Description = "Matchers such as alertname=ServiceDown, 'instance=~\"db-.*\"'", HelpName = "MATCHER", Arity = ArgumentArity.OneOrMore };
        var comment = new Option<string?>("--comment") { Description = "Why (required)", HelpName = "TEXT" };
        var duration = new Option<string>("--duration") { Description = "How long, a duration such as 2h or 1d", HelpName = "DURATION", DefaultValueFactory = _ => "1h" };
        var author = new Option<string?>("--author") { Description = "Who [default: your user name]", HelpName = "NAME" };
        var add = new Command("add", "Create a silence; prints its id") { matchers, comment, duration, author };
        add.Run(io, g, async (ctx, ct) =>
        {
            var text = ctx.Get(comment);
            if (string.IsNullOrWhiteSpace(text)) throw WkException.Usage("--comment is required: say why the alerts are silenced");
            var length = TimeArgs.Duration(ctx.Get(duration)!, "--duration");
            var list = new List<Dictionary<string, object>>();
            foreach (var m in ctx.Get(matchers))
            {
                List<Matcher> parsed;
                try
                {
                    parsed = MatcherParser.ParseList(m);
                }
                catch (FormatException ex)
                {
                    throw WkException.Usage("bad matcher: " + ex.Message);
                }
                list.AddRange(parsed.Select(p => new Dictionary<string, object> { ["name"] = p.Name, ["value"] = p.Value, ["isRegex"] = p.IsRegex, ["isEqual"] = p.IsEqual }));
            }
            var api = ctx.Api();
            var who = ctx.Get(author);
            if (string.IsNullOrWhiteSpace(who))
            {
                var me = await api.GetAsync("api/v1/auth/whoami", ct);
                who = AlertCommands.Str(me.Json, "username");
            }
            var body = new Dictionary<string, object>
            {
                ["matchers"] = list,
                ["startsAt"] = TimeArgs.Rfc3339(ctx.Now),
                ["endsAt"] = TimeArgs.Rfc3339(ctx.Now + length),
                ["createdBy"] = who,
                ["comment"] = text,
            };
            var r = await api.PostAsync($"{Base}/silences", body, ct);
            return ctx.Print(r, () => ctx.Line(AlertCommands.Str(r.Json, "silenceID")));
        });

        var expired = new Option<bool>("--expired") { Description = "List expired silences instead of active and pending ones" };
        var ls = new Command("list", "List silences") { expired };
        ls.Aliases.Add("ls");
        ls.Run(io, g, async (ctx, ct) =>
        {
            var r = await ctx.Api().GetAsync($"{Base}/silences", ct);
            return ctx.Print(r, () =>
            {
                var t = Fmt.Table("ID", "STATE", "MATCHERS", "ENDS", "CREATED BY", "COMMENT");
                foreach (var s in r.Json.EnumerateArray())
                {
                    var state = s.GetProperty("status").GetProperty("state").GetString();
                    if ((state == "expired") != ctx.Get(expired)) continue;
                    var ms = string.Join(",", s.GetProperty("matchers").EnumerateArray().Select(m =>
                        m.GetProperty("name").GetString() + (m.GetProperty("isEqual").GetBoolean() ? "=" : "!") + (m.GetProperty("isRegex").GetBoolean() ? "~" : "") + "\"" + m.GetProperty("value").GetString() + "\""));
                    t.Row(AlertCommands.Str(s, "id"), state, ms, Fmt.Time(s.GetProperty("endsAt").GetDateTimeOffset()), AlertCommands.Str(s, "createdBy"), AlertCommands.Str(s, "comment"));
                }
                ctx.Write(t);
            });
        });

        var ids = new Argument<string[]>("silence-id") { Description = "Silence ids (the ID column of 'wk silence list')", HelpName = "ID", Arity = ArgumentArity.OneOrMore };
        var expire = new Command("expire", "Expire silences now") { ids };
        expire.Run(io, g, async (ctx, ct) =>
        {
            foreach (var id in ctx.Get(ids))
            {
                await ctx.Api().DeleteAsync($"{Base}/silence/{Uri.EscapeDataString(id)}", ct);
                if (!ctx.Json) ctx.Line($"Expired silence {id}.");
            }
            return ExitCodes.Ok;
        });

        cmd.Subcommands.Add(add);
        cmd.Subcommands.Add(ls);
        cmd.Subcommands.Add(expire);
        return cmd;
    }
}
