namespace Watchkeeper.Server.Platform;

/// <summary>Arguments of <c>watchkeeper serve</c>.</summary>
public sealed record ServeOptions
{
    public const string Usage = """
        usage: watchkeeper serve [--config PATH] [--data DIR] [--listen ADDR] [--query-warmup=BOOL] [--alert-warmup=BOOL]
                                 [--memory-compaction=BOOL]
          --config PATH               configuration file (default config/openpolicy/watchkeeper.yml)
          --data DIR                  data directory for the database and time series (default ./data)
          --listen ADDR               host:port to listen on (default 127.0.0.1:9700)
          --query-warmup=BOOL         run the query path in process after start so first queries are fast (default true)
          --alert-warmup=BOOL         run an alert's path to its notification in process at start (default true)
          --memory-compaction=BOOL    return unused heap memory to the OS when the heap has grown (default true)
        """;

    public string ConfigPath { get; init; } = "config/openpolicy/watchkeeper.yml";
    public string DataDir { get; init; } = "./data";
    public string Listen { get; init; } = "127.0.0.1:9700";
    public bool Help { get; init; }

    /// <summary>Run the query path a few hundred times after start (Monitoring/QueryWarmup.cs).</summary>
    public bool QueryWarmup { get; init; } = true;

    /// <summary>Run the path of an alert to its notification after start (Alerting/AlertPathWarmup.cs).</summary>
    public bool AlertWarmup { get; init; } = true;

    /// <summary>Compacting full collections when the managed heap has grown (Platform/MemoryCompaction.cs).</summary>
    public bool MemoryCompaction { get; init; } = true;

    /// <summary>Password for the first admin; from WATCHKEEPER_ADMIN_PASSWORD, else random and printed once.</summary>
    public string? AdminPassword { get; init; } = Environment.GetEnvironmentVariable("WATCHKEEPER_ADMIN_PASSWORD") is { Length: > 0 } p ? p : null;

    public string ListenUrl => "http://" + Listen;

    public static ServeOptions Parse(string[] args)
    {
        var o = new ServeOptions();
        var i = 0;
        if (args.Length > 0 && args[0] == "serve") i = 1;
        else if (args.Length > 0 && !args[0].StartsWith('-')) throw new ArgumentException($"unknown command '{args[0]}'");
        for (; i < args.Length; i++)
        {
            var a = args[i];
            string Value()
            {
                if (i + 1 >= args.Length) throw new ArgumentException($"{a} needs a value");
                return args[++i];
            }
            var eq = a.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0 && a.StartsWith("--", StringComparison.Ordinal))
            {
                args = [.. args[..i], a[..eq], a[(eq + 1)..], .. args[(i + 1)..]];
                a = args[i];
            }
            o = a switch
            {
                "--config" => o with { ConfigPath = Value() },
                "--data" => o with { DataDir = Value() },
                "--listen" => o with { Listen = ValidateListen(Value()) },
                "--query-warmup" => o with { QueryWarmup = Bool(a, Value()) },
                "--alert-warmup" => o with { AlertWarmup = Bool(a, Value()) },
                "--memory-compaction" => o with { MemoryCompaction = Bool(a, Value()) },
                "-h" or "--help" => o with { Help = true },
                _ => throw new ArgumentException($"unknown option '{a}'"),
            };
        }
        return o;
    }

    private static bool Bool(string flag, string v) => v switch
    {
        "true" => true,
        "false" => false,
        _ => throw new ArgumentException($"{flag} '{v}' is not true or false"),
    };

    private static string ValidateListen(string v)
    {
        var colon = v.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(v.AsSpan(colon + 1), out var port) || port is < 0 or > 65535)
            throw new ArgumentException($"--listen '{v}' is not host:port");
        return v;
    }
}
