using System.Globalization;
using Watchkeeper.Metrics.Conformance;

// Usage: Watchkeeper.Metrics.Conformance <testdata dir> [--verbose] [--file name.test]
var dir = args.FirstOrDefault(a => !a.StartsWith("--", StringComparison.Ordinal) && Directory.Exists(a));
var verbose = args.Contains("--verbose");
var fileIdx = Array.IndexOf(args, "--file");
var only = fileIdx >= 0 && fileIdx + 1 < args.Length ? args[fileIdx + 1] : null;
if (dir is null)
{
    Console.WriteLine("conformance: PromQL test data folder not found; skipping");
    return 0;
}
ConformanceRunner.RangeCheck = args.Contains("--range-check");
var report = ConformanceRunner.RunDirectory(dir, only);
Console.WriteLine($"tier1 {report.Passed(1)}/{report.Total(1)}");
Console.WriteLine($"tier2 {report.Passed(2)}/{report.Total(2)}");
foreach (var g in report.Outcomes.GroupBy(o => o.File).OrderBy(g => g.Key, StringComparer.Ordinal))
{
    var t1 = g.Where(o => o.Tier == 1).ToList();
    var t2 = g.Where(o => o.Tier == 2).ToList();
    Console.WriteLine($"{g.Key} tier1 {t1.Count(o => o.Passed)}/{t1.Count} tier2 {t2.Count(o => o.Passed)}/{t2.Count}");
}
if (verbose)
{
    foreach (var o in report.Outcomes.Where(o => !o.Passed && (o.Tier == 1 || args.Contains("--tier2"))))
        Console.WriteLine($"FAIL tier{o.Tier} {o.File}:{o.Line} {o.Expr}\n     {o.Reason}");
}
var ratio = report.Tier1Ratio;
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"conformance: Tier 1 pass rate {ratio * 100:F2}% (required: 98%)"));
return ratio >= 0.98 ? 0 : 1;
