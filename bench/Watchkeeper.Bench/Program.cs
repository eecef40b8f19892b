using BenchmarkDotNet.Running;
using Watchkeeper.Bench;

// `dotnet run -c Release --project bench/Watchkeeper.Bench -- tsdb-size` measures on-disk bytes per sample and head
// memory per series; `-- tsdb-import FILE OUT.json` builds blocks from bench/prometheus/gen_openmetrics.py output;
// `-- scrape-cpu [series] [scrapes] [rounds]` times the scrape benchmark by process CPU time; anything else goes to BenchmarkDotNet (e.g. `-- --filter *Chunk*`).
if (args.Length > 0 && args[0] == "tsdb-size")
{
    TsdbSizeMeasurement.Run(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1000);
    return;
}
if (args.Length > 0 && args[0] == "query-profile")
{
    QueryProfile.Run(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 333,
        args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 300);
    return;
}
if (args.Length > 0 && args[0] == "dashboard-profile")
{
    int Arg(int i, int dflt) => args.Length > i ? int.Parse(args[i], System.Globalization.CultureInfo.InvariantCulture) : dflt;
    DashboardProfile.Run(Arg(1, 333), Arg(2, 1080), Arg(3, 5));
    return;
}
if (args.Length > 0 && args[0] == "decode-profile")
{
    int Arg(int i, int dflt) => args.Length > i ? int.Parse(args[i], System.Globalization.CultureInfo.InvariantCulture) : dflt;
    DecodeProfile.Run(Arg(1, 40_000), Arg(2, 9));
    return;
}
if (args.Length > 2 && args[0] == "tsdb-import")
{
    TsdbImport.Run(args[1], args[2]);
    return;
}
if (args.Length > 0 && args[0] == "scrape-cpu")
{
    int Arg(int i, int dflt) => args.Length > i ? int.Parse(args[i], System.Globalization.CultureInfo.InvariantCulture) : dflt;
    ScrapeCpu.Run(Arg(1, 25_000), Arg(2, 40), Arg(3, 5));
    return;
}
if (args.Length > 1 && args[0] == "crash-writer")
{
    CrashCheck.Write(args[1]);
    return;
}
if (args.Length > 1 && args[0] == "crash-verify")
{
    CrashCheck.Verify(args[1]);
    return;
}
BenchmarkSwitcher.FromAssembly(typeof(ChunkBenchmarks).Assembly).Run(args);
