using System.Text.Json;
using System.Text.Json.Serialization;

namespace Watchkeeper.Cli;

/// <summary>What <c>wk login</c> stores: the server and the API token issued for it.</summary>
public sealed record CliConfig(
    [property: JsonPropertyName("url")] string? Url,
    [property: JsonPropertyName("token")] string? Token,
    [property: JsonPropertyName("username")] string? Username,
    [property: JsonPropertyName("token_id")] long? TokenId);

/// <summary>
/// The config file: <c>$WK_CONFIG</c>, else <c>$XDG_CONFIG_HOME/watchkeeper/config.json</c>, else
/// <c>~/.config/watchkeeper/config.json</c>. Written with mode 0600 (it holds a bearer token).
/// </summary>
public static class CliConfigFile
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    public static string PathFor(WkConsole io)
    {
        if (io.Env("WK_CONFIG") is { } explicitPath) return explicitPath;
        var baseDir = io.Env("XDG_CONFIG_HOME")
            ?? Path.Combine(io.Env("HOME") ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config");
        return Path.Combine(baseDir, "watchkeeper", "config.json");
    }

    public static CliConfig? Load(string path)
    {
        if (!File.Exists(path)) return null;
        try
        {
            return JsonSerializer.Deserialize<CliConfig>(File.ReadAllText(path), Json);
        }
        catch (Exception ex) when (ex is JsonException or IOException or UnauthorizedAccessException)
        {
            throw new WkException(ExitCodes.Usage, $"cannot read config file {path}: {OneLine(ex.Message)}");
        }
    }

    public static void Save(string path, CliConfig config)
    {
        try
        {
            var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
            if (!Directory.Exists(dir))
            {
                if (OperatingSystem.IsWindows()) Directory.CreateDirectory(dir);
                else Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
            // Write a private temp file and rename it over the old one: never a moment with the token world-readable or half-written.
            var tmp = path + ".tmp";
            var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            using (var fs = new FileStream(tmp, options))
            {
                JsonSerializer.Serialize(fs, config, Json);
                fs.Flush(flushToDisk: true);
            }
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(tmp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            File.Move(tmp, path, overwrite: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new WkException(ExitCodes.ServerError, $"cannot write config file {path}: {OneLine(ex.Message)}");
        }
    }

    internal static string OneLine(string s) => string.Join(' ', s.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
