using Watchkeeper.Metrics.Conformance;

namespace Watchkeeper.Metrics.Tests.PromQL;

public sealed class ConformanceTests
{
    private static string? DataDir()
    {
        // The data lives beside the repository: <repo>/../shared/testdata/promql.
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Watchkeeper.slnx")))
            {
                var data = Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "testdata", "promql"));
                return Directory.Exists(data) ? data : null;
            }
        }
        return null;
    }

    [Fact]
    public void Prometheus_tier1_conformance_is_at_least_98_percent()
    {
        var dir = DataDir();
        if (dir is null && !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI"))) Assert.Fail("CI is set and the PromQL test data (../shared/testdata/promql) is missing");
        if (dir is null) Assert.Skip("PromQL test data (../shared/testdata/promql) not found; conformance not run");
        var report = ConformanceRunner.RunDirectory(dir);
        var failures = string.Join("\n", report.Outcomes.Where(o => o.Tier == 1 && !o.Passed).Take(20).Select(o => $"{o.File}:{o.Line} {o.Expr}: {o.Reason}"));
        Assert.True(report.Total(1) > 900, "too few Tier 1 evals found: " + report.Total(1));
        Assert.True(report.Tier1Ratio >= 0.98, $"tier1 {report.Passed(1)}/{report.Total(1)}\n{failures}");
    }
}
