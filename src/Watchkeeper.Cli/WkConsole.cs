using System.Collections;
using System.Text;

namespace Watchkeeper.Cli;

/// <summary>
/// Everything <c>wk</c> takes from its process: streams, environment and clock. Tests build one
/// with string writers, a fake environment and the server's fake clock.
/// </summary>
public sealed class WkConsole
{
    public required TextWriter Out { get; init; }
    public required TextWriter Error { get; init; }

    /// <summary>Piped standard input, or null when stdin is a terminal (secrets are then prompted for).</summary>
    public TextReader? In { get; init; }

    /// <summary>Reads a secret from the terminal without echo; null when there is no terminal.</summary>
    public Func<string, string?>? PromptSecret { get; init; }

    public IReadOnlyDictionary<string, string?> Environment { get; init; } = new Dictionary<string, string?>();
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Whether stdout is a terminal: tables then use its width and colours.</summary>
    public bool OutputIsTerminal { get; init; }

    /// <summary>Columns of the terminal stdout is on, if it is one.</summary>
    public int? TerminalWidth { get; init; }

    /// <summary>Whether this is the real process (Ctrl-C handling is then installed).</summary>
    public bool IsProcess { get; init; }

    public string? Env(string name) => Environment.TryGetValue(name, out var v) && !string.IsNullOrEmpty(v) ? v : null;

    public static WkConsole FromProcess()
    {
        var env = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (DictionaryEntry e in System.Environment.GetEnvironmentVariables()) env[(string)e.Key] = e.Value as string;
        Console.OutputEncoding = Encoding.UTF8;
        return new WkConsole
        {
            Out = Console.Out,
            Error = Console.Error,
            In = Console.IsInputRedirected ? Console.In : null,
            PromptSecret = Console.IsInputRedirected ? null : ReadSecretFromTerminal,
            Environment = env,
            OutputIsTerminal = !Console.IsOutputRedirected,
            IsProcess = true,
            TerminalWidth = Console.IsOutputRedirected ? null : TryWindowWidth(),
        };
    }

    private static int? TryWindowWidth()
    {
        try
        {
            return Console.WindowWidth;
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static string? ReadSecretFromTerminal(string prompt)
    {
        Console.Error.Write(prompt);
        var sb = new StringBuilder();
        while (true)
        {
            var k = Console.ReadKey(intercept: true);
            if (k.Key == ConsoleKey.Enter) break;
            if (k.Key == ConsoleKey.Backspace)
            {
                if (sb.Length > 0) sb.Length--;
                continue;
            }
            if (k.Key == ConsoleKey.C && k.Modifiers.HasFlag(ConsoleModifiers.Control))
            {
                Console.Error.WriteLine();
                return null;
            }
            if (!char.IsControl(k.KeyChar)) sb.Append(k.KeyChar);
        }
        Console.Error.WriteLine();
        return sb.ToString();
    }
}
