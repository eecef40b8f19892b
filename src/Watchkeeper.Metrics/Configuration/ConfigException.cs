namespace Watchkeeper.Metrics.Configuration;

/// <summary>
/// A configuration error, the one type for every configuration file Watchkeeper reads (<c>watchkeeper.yml</c>
/// and the files it names). The message is <c>file:line:key: problem</c>; line 0 means the file as a whole.
/// </summary>
public sealed class ConfigException : Exception
{
    public ConfigException() { }
    public ConfigException(string message) : base(message) { }
    public ConfigException(string message, Exception inner) : base(message, inner) { }

    public ConfigException(string file, long line, string key, string problem, Exception? inner = null)
        : base($"{file}:{line}:{key}: {problem}", inner)
    {
        File = file;
        Line = (int)Math.Clamp(line, 0, int.MaxValue);
        Key = key;
        Problem = problem;
    }

    public string File { get; } = "";

    /// <summary>1-based line; 0 when the error is about the file as a whole.</summary>
    public int Line { get; }

    /// <summary>The dotted key path, e.g. <c>severities[1].response_time</c>.</summary>
    public string Key { get; } = "";

    public string Problem { get; } = "";
}
