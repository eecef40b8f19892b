using System.Diagnostics;
using Watchkeeper.Metrics.Rules;

namespace Watchkeeper.Interop.Tests;

/// <summary>
/// Rule files and rule unit tests give the same verdicts in Watchkeeper (the code behind <c>wk rules check|test</c>)
/// as in Debian's promtool 2.42, on the files in tests/Watchkeeper.Interop.Tests/rules; the shipped rules pass both.
/// </summary>
public sealed class RulesPromtoolTests
{
    private static string Dir(string sub) => Path.Combine(Peers.RepoRoot, "tests", "Watchkeeper.Interop.Tests", "rules", sub);

    private static (int Code, string Out, string Err) Promtool(params string[] args)
    {
        var psi = new ProcessStartInfo(Peers.Require(Peers.Promtool, "promtool"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(args[^1])!,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEnd();
        if (!p.WaitForExit(60_000)) p.Kill(true);
        return (p.ExitCode, stdout.Result, stderr);
    }

    [Fact]
    public void Every_shipped_rule_file_passes_promtool_check_rules_and_the_same_check_here()
    {
        var files = Directory.GetFiles(Path.Combine(Peers.RepoRoot, "config", "openpolicy", "rules"), "*.yml").Order(StringComparer.Ordinal).ToArray();
        Assert.NotEmpty(files);
        foreach (var f in files)
        {
            var (code, _, err) = Promtool(["check", "rules", f]);
            Assert.True(code == 0, $"promtool check rules {f}: {err}");
            Assert.NotEmpty(RuleFileParser.ParseFile(f, RuleTemplateEngines.Default).Groups);
        }
    }

    public static TheoryData<string> CheckFiles() => [.. Directory.GetFiles(Dir("check"), "*.yml").Select(f => Path.GetFileName(f)!).Order(StringComparer.Ordinal)];

    [Theory]
    [MemberData(nameof(CheckFiles))]
    public void Rule_check_verdicts_and_messages_match_promtool(string name)
    {
        var path = Path.Combine(Dir("check"), name);
        var (code, _, err) = Promtool(["check", "rules", path]);
        List<string> ours;
        try
        {
            RuleFileParser.ParseFile(path, RuleTemplateEngines.Default);
            ours = [];
        }
        catch (RuleFileException ex)
        {
            ours = [.. ex.Errors.Select(e => e.ToString())];
        }
        Assert.Equal(name.StartsWith("pass_", StringComparison.Ordinal), code == 0);
        Assert.Equal(code == 0, ours.Count == 0);
        if (code == 0) return;
        // promtool names the file as given; the problems, their lines and rules are the same (PromQL and template
        // parse details are worded by each engine).
        var theirs = err.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l != "  FAILED:").Select(l => l.Replace(path, name, StringComparison.Ordinal)).ToList();
        var mine = string.Join("\n", ours).Split('\n').Select(l => l.Replace(path, name, StringComparison.Ordinal)).ToList();
        Assert.Equal(theirs.Count, mine.Count);
        foreach (var (t, m) in theirs.Zip(mine))
        {
            if (t.Contains("could not parse expression", StringComparison.Ordinal) || t.Contains("template:", StringComparison.Ordinal))
                Assert.Equal(t[..t.IndexOf(": ", t.IndexOf("\"", StringComparison.Ordinal), StringComparison.Ordinal)], m[..m.IndexOf(": ", m.IndexOf("\"", StringComparison.Ordinal), StringComparison.Ordinal)]);
            else Assert.Equal(t, m);
        }
    }

    public static TheoryData<string> UnitTestFiles() => [.. Directory.GetFiles(Dir("unit"), "test_*.yml").Select(f => Path.GetFileName(f)!).Order(StringComparer.Ordinal)];

    [Theory]
    [MemberData(nameof(UnitTestFiles))]
    public void Rule_unit_test_verdicts_match_promtool_test_rules(string name)
    {
        var path = Path.Combine(Dir("unit"), name);
        var (code, _, err) = Promtool(["test", "rules", path]);
        var ours = RuleUnitTester.Run(path, RuleTemplateEngines.Default);
        Assert.Equal(name.EndsWith("_pass.yml", StringComparison.Ordinal), code == 0);
        Assert.True(ours.Passed == (code == 0), $"promtool: {(code == 0 ? "pass" : err)}\nwatchkeeper: {string.Join("\n", ours.Errors)}");
        // The failures name the same alerts and expressions at the same times.
        var theirs = err.Split('\n').Where(l => l.StartsWith("    alertname: ", StringComparison.Ordinal) || l.StartsWith("    name: ", StringComparison.Ordinal)).ToList();
        var mine = string.Join("\n", ours.Errors).Split('\n').Where(l => l.StartsWith("    alertname: ", StringComparison.Ordinal) || l.StartsWith("    name: ", StringComparison.Ordinal)).ToList();
        Assert.Equal(theirs, mine);
    }
}
