using System.Diagnostics;
using System.Globalization;

namespace Watchkeeper.Bench;

/// <summary>
/// `scrape-cpu [series] [scrapes] [rounds]`: the <see cref="ScrapeBenchmarks"/> scrape, timed by process CPU time
/// rather than wall time, so a busy shared machine distorts it less than BenchmarkDotNet's wall-clock means.
/// Prints CPU ns, wall ns and allocated bytes per sample for each round after a warm-up round, then the median.
/// </summary>
internal static class ScrapeCpu
{
    public static void Run(int series, int scrapes, int rounds)
    {
        var b = new ScrapeBenchmarks { Series = series };
        b.Setup();
        try
        {
            var cpu = new List<double>();
            var proc = Process.GetCurrentProcess();
            for (var round = -1; round < rounds; round++)
            {
                proc.Refresh();
                var cpu0 = proc.TotalProcessorTime;
                var alloc0 = GC.GetTotalAllocatedBytes(precise: true);
                var sw = Stopwatch.StartNew();
                for (var i = 0; i < scrapes; i++) b.Scrape();
                sw.Stop();
                proc.Refresh();
                var samples = (double)series * scrapes;
                var cpuNs = (proc.TotalProcessorTime - cpu0).TotalNanoseconds / samples;
                var allocB = (GC.GetTotalAllocatedBytes(precise: true) - alloc0) / samples;
                if (round < 0) continue; // warm-up: tiered JIT, first chunks
                cpu.Add(cpuNs);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"round {round}: {cpuNs:F1} CPU-ns/sample, {sw.Elapsed.TotalNanoseconds / samples:F1} wall-ns/sample, {allocB:F2} B/sample"));
            }
            cpu.Sort();
            // Everything the TSDB head, the scrape loop and the parser keep, after the scrapes above (chunks included).
            var heap = GC.GetTotalMemory(forceFullCollection: true);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"retained managed heap {heap / (double)series:F0} B/series, process working set {Environment.WorkingSet / (double)series:F0} B/series after {(rounds + 1) * scrapes + 1} scrapes"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"median {cpu[cpu.Count / 2]:F1} CPU-ns/sample over {rounds} rounds of {scrapes} scrapes x {series} series"));
        }
        finally
        {
            b.Cleanup();
        }
    }
}
