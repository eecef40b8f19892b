using System.CommandLine;
using System.CommandLine.Invocation;
using Watchkeeper.Metrics.Configuration;

namespace Watchkeeper.Cli;

/// <summary>The options every command takes.</summary>
public sealed class Globals
{
    public const string DefaultUrl = "http://127.0.0.1:9700";

    public Option<string?> Url { get; } = new("--url")
    {
        Description = $"Server URL [env WATCHKEEPER_URL, else the config file, else {DefaultUrl}]",
        Recursive = true,
        HelpName = "URL",
    };

    public Option<string?> Token { get; } = new("--token")
    {
        Description = "API token [env WATCHKEEPER_TOKEN, else the config file]",
        Recursive = true,
        HelpName = "TOKEN",
    };

    public Option<string> Output { get; } = new Option<string>("--output", "-o")
    {
        Description = "Output format: table (for people) or json (the server's JSON)",
        Recursive = true,
        DefaultValueFactory = _ => "table",
        HelpName = "table|json",
    }.AcceptOnlyFromAmong("table", "json");
}

/// <summary>
/// The <c>wk</c> command line. <see cref="RunAsync(string[], WkConsole, CancellationToken)"/> is the whole
/// program: it parses, runs one command against the server and returns the exit code, writing only
/// to the streams it is given, so tests run it in-process.
/// </summary>
public static class WkApp
{
    public static Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr,
        IReadOnlyDictionary<string, string?>? env = null, TextReader? stdin = null, TimeProvider? time = null, CancellationToken ct = default) =>
        RunAsync(args, new WkConsole
        {
            Out = stdout,
            Error = stderr,
            In = stdin,
            Environment = env ?? new Dictionary<string, string?>(),
            Time = time ?? TimeProvider.System,
        }, ct);

    public static async Task<int> RunAsync(string[] args, WkConsole io, CancellationToken ct = default)
    {
        var g = new Globals();
        var root = Build(io, g);
        // No response files: "@file" is wk's own syntax for "read this option's text from a file".
        var parse = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        if (parse.Errors.Count > 0 && parse.Action is not { ClearsParseErrors: true })
        {
            await io.Error.WriteLineAsync("wk: " + CliConfigFile.OneLine(UsageError(parse)));
            return ExitCodes.Usage;
        }
        var config = new InvocationConfiguration
        {
            Output = io.Out,
            Error = io.Error,
            EnableDefaultExceptionHandler = false,
        };
        if (!io.IsProcess) config.ProcessTerminationTimeout = null;
        try
        {
            return await parse.InvokeAsync(config, ct);
        }
        catch (OperationCanceledException)
        {
            await io.Error.WriteLineAsync("wk: interrupted");
            return ExitCodes.Interrupted;
        }
    }

    public static RootCommand Build(WkConsole io, Globals g)
    {
        var root = new RootCommand("wk: the Watchkeeper command line. Incident response, reports, audit and access from a terminal or script.");
        root.Options.Add(g.Url);
        root.Options.Add(g.Token);
        root.Options.Add(g.Output);
        foreach (var c in LoginCommands.Build(io, g)) root.Subcommands.Add(c);
        root.Subcommands.Add(IncidentCommands.Build(io, g));
        root.Subcommands.Add(ReportCommands.Build(io, g));
        root.Subcommands.Add(AuditCommands.Build(io, g));
        root.Subcommands.Add(UserCommands.Build(io, g));
        root.Subcommands.Add(TokenCommands.Build(io, g));
        root.Subcommands.Add(NotificationCommands.Build(io, g));
        root.Subcommands.Add(DemoCommands.Build(io, g));
        root.Subcommands.Add(RulesCommands.Build(io, g));
        var alert = AlertCommands.Build(io, g);
        alert.Subcommands.Add(OnCallCommands.Ack(io, g));
        root.Subcommands.Add(alert);
        root.Subcommands.Add(SilenceCommands.Build(io, g));
        root.Subcommands.Add(OnCallCommands.Build(io, g));
        root.Subcommands.Add(MaintenanceCommands.Build(io, g));
        root.Subcommands.Add(HealthCommands.Health(io, g));
        root.Subcommands.Add(HealthCommands.Perf(io, g));
        root.Subcommands.Add(BackupCommands.Build(io, g));
        return root;
    }

    /// <summary>The most useful parse error: an unknown word first (with a suggestion), then the rest.</summary>
    private static string UsageError(ParseResult parse)
    {
        var command = parse.CommandResult.Command;
        var help = $"(see '{string.Join(' ', CommandPath(command))} --help')";
        if (parse.UnmatchedTokens.Count > 0)
        {
            var word = parse.UnmatchedTokens[0];
            var names = word.StartsWith('-')
                ? command.Options.Concat(parse.RootCommandResult.Command.Options.Where(o => o.Recursive)).SelectMany(o => o.Aliases.Prepend(o.Name))
                : command.Subcommands.SelectMany(c => c.Aliases.Prepend(c.Name));
            // One edit distance for config keys and command-line words.
            var guess = names.Where(n => ConfigKeys.Distance(n, word) <= Math.Max(1, word.Length / 3)).OrderBy(n => ConfigKeys.Distance(n, word)).FirstOrDefault();
            var kind = word.StartsWith('-') ? "option" : command.Subcommands.Count > 0 ? "command" : "argument";
            return $"unknown {kind} '{word}'{(guess is null ? "" : $"; did you mean '{guess}'?")} {help}";
        }
        return $"{parse.Errors[0].Message} {help}";
    }

    private static IEnumerable<string> CommandPath(Command c)
    {
        var names = new List<string>();
        for (Symbol? s = c; s is Command cmd; s = cmd.Parents.FirstOrDefault())
            names.Add(cmd is RootCommand ? "wk" : cmd.Name);
        names.Reverse();
        return names;
    }

    /// <summary>Sets a command's action: runs the body with a context and turns every failure into one line and an exit code.</summary>
    public static void Run(this Command command, WkConsole io, Globals g, Func<Ctx, CancellationToken, Task<int>> body) =>
        command.SetAction(async (parse, ct) =>
        {
            using var ctx = new Ctx(parse, io, g);
            try
            {
                return await body(ctx, ct);
            }
            catch (WkException ex)
            {
                await io.Error.WriteLineAsync("wk: " + CliConfigFile.OneLine(ex.Message));
                return ex.ExitCode;
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                await io.Error.WriteLineAsync("wk: interrupted");
                return ExitCodes.Interrupted;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // A bug in wk: still one line, no stack trace unless asked for.
                await io.Error.WriteLineAsync($"wk: internal error: {ex.GetType().Name}: {CliConfigFile.OneLine(ex.Message)}");
                if (io.Env("WK_DEBUG") is not null) await io.Error.WriteLineAsync(ex.ToString());
                return ExitCodes.ServerError;
            }
        });
}
