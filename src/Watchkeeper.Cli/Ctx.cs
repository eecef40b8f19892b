using System.CommandLine;
using System.Text;
using System.Text.Json;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Watchkeeper.Cli;

/// <summary>One command's run: its parsed values, where the server is, who we are, and how to print.</summary>
public sealed class Ctx(ParseResult parse, WkConsole io, Globals g) : IDisposable
{
    private Api? _api;
    private readonly List<Api> _others = [];
    private CliConfig? _config;
    private bool _configLoaded;

    public WkConsole Io => io;
    public ParseResult Parse => parse;
    public bool Json => parse.GetValue(g.Output) == "json";
    public DateTimeOffset Now => io.Time.GetUtcNow();
    public string ConfigPath => CliConfigFile.PathFor(io);

    public T? Get<T>(Option<T> option) => parse.GetValue(option);
    public T Get<T>(Argument<T> argument) => parse.GetValue(argument)!;
    public bool Given(Option option) => parse.GetResult(option) is { Implicit: false };

    public CliConfig? Config
    {
        get
        {
            if (!_configLoaded)
            {
                _config = CliConfigFile.Load(ConfigPath);
                _configLoaded = true;
            }
            return _config;
        }
    }

    /// <summary>The server URL: --url, then WATCHKEEPER_URL, then the config file, then the default.</summary>
    public Uri Url => ParseUrl(parse.GetValue(g.Url) ?? io.Env("WATCHKEEPER_URL") ?? Config?.Url ?? Globals.DefaultUrl);

    public static Uri ParseUrl(string text)
    {
        var t = text.Trim();
        if (!t.Contains("://", StringComparison.Ordinal)) t = "http://" + t;
        if (!Uri.TryCreate(t, UriKind.Absolute, out var u) || (u.Scheme != Uri.UriSchemeHttp && u.Scheme != Uri.UriSchemeHttps) || !string.IsNullOrEmpty(u.Query))
            throw WkException.Usage($"'{text}' is not a server URL (expected e.g. {Globals.DefaultUrl})");
        var s = u.GetLeftPart(UriPartial.Path);
        return new Uri(s.EndsWith('/') ? s : s + "/");
    }

    public static bool SameServer(Uri a, string? b)
    {
        if (b is null) return false;
        try
        {
            return Uri.Compare(a, ParseUrl(b), UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) == 0;
        }
        catch (WkException)
        {
            return false;
        }
    }

    /// <summary>
    /// The token: --token, then WATCHKEEPER_TOKEN, then the config file's, which is only sent to the
    /// server it was issued by (a token saved for one server never goes to another --url).
    /// </summary>
    public string? Token
    {
        get
        {
            if (parse.GetValue(g.Token) is { Length: > 0 } t) return t;
            if (io.Env("WATCHKEEPER_TOKEN") is { } e) return e;
            return Config is { Token: { Length: > 0 } ct } cfg && SameServer(Url, cfg.Url) ? ct : null;
        }
    }

    /// <summary>An API client that authenticates; fails with exit code 4 when there is no token.</summary>
    public Api Api()
    {
        if (_api is not null) return _api;
        var url = Url;
        var token = Token ?? throw new WkException(ExitCodes.Auth,
            $"not logged in to {url.ToString().TrimEnd('/')}: run 'wk login --url {url.ToString().TrimEnd('/')} --username NAME' or set WATCHKEEPER_TOKEN");
        return _api = Configure(new Api(url, token));
    }

    /// <summary>A client for an explicit server and token (login); disposed with the context.</summary>
    public Api ApiFor(Uri url, string? token)
    {
        var api = Configure(new Api(url, token));
        _others.Add(api);
        return api;
    }

    private Api Configure(Api api)
    {
        api.FieldToOption = OptionFor;
        return api;
    }

    private static readonly Dictionary<string, string> FieldAliases = new(StringComparer.Ordinal)
    {
        ["services_affected"] = "--services",
        ["communications_lead"] = "--comms-lead",
        ["lessons_learned"] = "--lessons",
        ["current_status"] = "--message",
        ["next_update_in"] = "--next-update",
        ["text"] = "--message",
        ["due_at"] = "--due",
        ["from"] = "--from",
        ["to"] = "--to",
    };

    /// <summary>The option of the running command that sets a server field, if any ("severity" -> "--severity").</summary>
    public string? OptionFor(string field)
    {
        var f = field;
        var bracket = f.IndexOf('[', StringComparison.Ordinal);
        if (bracket > 0) f = f[..bracket];
        var candidates = new List<string>();
        if (FieldAliases.TryGetValue(f, out var alias)) candidates.Add(alias);
        candidates.Add("--" + f.Replace('_', '-'));
        var command = parse.CommandResult.Command;
        foreach (var c in candidates)
            if (command.Options.Any(o => o.Name == c || o.Aliases.Contains(c))) return c;
        return null;
    }

    // ------------------------------------------------------------------ input

    /// <summary>A secret from the option, else the first line of piped stdin, else a terminal prompt.</summary>
    public string ReadSecret(string? fromOption, string prompt, string optionName)
    {
        if (fromOption is not null) return fromOption;
        if (io.In is not null)
        {
            var line = io.In.ReadLine();
            if (!string.IsNullOrEmpty(line)) return line;
            throw WkException.Usage($"no {optionName.TrimStart('-')} on stdin: pass {optionName} or pipe it in");
        }
        if (io.PromptSecret is not null)
        {
            var v = io.PromptSecret(prompt);
            if (!string.IsNullOrEmpty(v)) return v;
        }
        throw WkException.Usage($"{optionName} is required (or pipe it on stdin)");
    }

    // ------------------------------------------------------------------ output

    /// <summary>
    /// Renders through Spectre.Console into a buffer, then writes it without the padding Spectre adds
    /// (trailing spaces, blank first and last lines), so output pipes cleanly into grep and diff.
    /// </summary>
    public void Write(IRenderable r)
    {
        var buffer = new StringWriter();
        var color = io.OutputIsTerminal && io.Env("NO_COLOR") is null;
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = color ? AnsiSupport.Yes : AnsiSupport.No,
            ColorSystem = color ? ColorSystemSupport.Standard : ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(buffer),
        });
        console.Profile.Width = io.TerminalWidth is > 20 and var tw ? tw : int.TryParse(io.Env("COLUMNS"), out var w) && w >= 40 ? w : 160;
        console.Write(r);
        var lines = buffer.ToString().Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n').Select(l => l.TrimEnd()).ToList();
        while (lines.Count > 0 && lines[0].Length == 0) lines.RemoveAt(0);
        while (lines.Count > 0 && lines[^1].Length == 0) lines.RemoveAt(lines.Count - 1);
        foreach (var l in lines) io.Out.WriteLine(l);
    }

    public void Line(string text = "") => io.Out.WriteLine(text);

    /// <summary>Prints the server's JSON, indented, as it came.</summary>
    public void PrintJson(ApiResponse r)
    {
        if (r.Raw.Length == 0) return;
        io.Out.WriteLine(Indent(r.Json));
    }

    public void PrintJson(JsonElement e) => io.Out.WriteLine(Indent(e));

    public static string Indent(JsonElement e)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            e.WriteTo(w);
        return Encoding.UTF8.GetString(ms.ToArray());
    }

    /// <summary>Prints JSON or, for tables, runs the renderer.</summary>
    public int Print(ApiResponse r, Action render)
    {
        if (Json) PrintJson(r);
        else render();
        return ExitCodes.Ok;
    }

    public void Dispose()
    {
        _api?.Dispose();
        foreach (var a in _others) a.Dispose();
    }
}
