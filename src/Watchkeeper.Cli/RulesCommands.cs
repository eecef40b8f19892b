using System.CommandLine;
using Watchkeeper.Metrics.Rules;

namespace Watchkeeper.Cli;

/// <summary>
/// <c>wk rules check|test</c>: promtool's <c>check rules</c> and <c>test rules</c> on local files, with promtool's output
/// and exit codes (0 when every file passes, 1 otherwise). No server is needed.
/// </summary>
public static class RulesCommands
{
    /// <summary>promtool's exit code for a file that fails its check or tests.</summary>
    public const int Failed = 1;

    /// <summary>The template engine rule templates are checked and expanded with.</summary>
    public static IRuleTemplateEngine? Templates { get; set; } = RuleTemplateEngines.Default;

    public static Command Build(WkConsole io, Globals g)
    {
        var cmd = new Command("rules", "Prometheus rule files: check them and run their unit tests (as promtool check rules / test rules)");
        var checkFiles = new Argument<string[]>("FILE") { Description = "Rule files to check", Arity = ArgumentArity.OneOrMore };
        var check = new Command("check", "Check rule files: YAML shape, expressions, names, templates (promtool check rules)") { checkFiles };
        check.Run(io, g, (ctx, ct) => Task.FromResult(Check(io, ctx.Get(checkFiles))));
        var testFiles = new Argument<string[]>("FILE") { Description = "Unit-test files in promtool's format", Arity = ArgumentArity.OneOrMore };
        var test = new Command("test", "Run rule unit tests in promtool's format (promtool test rules)") { testFiles };
        test.Run(io, g, (ctx, ct) => Task.FromResult(Test(io, ctx.Get(testFiles), ct)));
        cmd.Subcommands.Add(check);
        cmd.Subcommands.Add(test);
        return cmd;
    }

    public static int Check(WkConsole io, IReadOnlyList<string> files)
    {
        var failed = false;
        foreach (var f in files)
        {
            io.Out.WriteLine("Checking " + f);
            try
            {
                var def = RuleFileParser.ParseFile(f, Templates);
                io.Out.WriteLine($"  SUCCESS: {def.Groups.Sum(x => x.Rules.Count)} rules found");
            }
            catch (RuleFileException ex)
            {
                failed = true;
                io.Error.WriteLine("  FAILED:");
                foreach (var e in ex.Errors) io.Error.WriteLine(e.ToString());
            }
            io.Out.WriteLine();
        }
        return failed ? Failed : ExitCodes.Ok;
    }

    public static int Test(WkConsole io, IReadOnlyList<string> files, CancellationToken ct)
    {
        var failed = false;
        foreach (var f in files)
        {
            io.Out.WriteLine("Unit Testing:  " + f);
            var r = RuleUnitTester.Run(f, Templates, ct);
            if (r.Passed)
            {
                io.Out.WriteLine("  SUCCESS");
            }
            else
            {
                failed = true;
                io.Error.WriteLine("  FAILED:");
                foreach (var e in r.Errors)
                {
                    io.Error.WriteLine(e);
                    io.Out.WriteLine();
                }
            }
            io.Out.WriteLine();
        }
        return failed ? Failed : ExitCodes.Ok;
    }
}
