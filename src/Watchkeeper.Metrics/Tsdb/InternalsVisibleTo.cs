using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("Watchkeeper.Metrics.Tests")]
[assembly: InternalsVisibleTo("Watchkeeper.Bench")]
