namespace Watchkeeper.Cli.Tests;

public sealed class FormattingTests
{
    [Theory]
    [InlineData(0, "0s")]
    [InlineData(45, "45s")]
    [InlineData(300, "5m")]
    [InlineData(3599, "59m59s")]
    [InlineData(5400, "1h30m")]
    [InlineData(3605, "1h")]
    [InlineData(86400, "1d")]
    [InlineData(273600, "3d4h")]
    [InlineData(-120, "-2m")]
    public void Durations_print_with_at_most_two_units(double seconds, string expected) =>
        Assert.Equal(expected, Fmt.Duration(seconds));

    [Theory]
    [InlineData("30m", 1800)]
    [InlineData("1h30m", 5400)]
    [InlineData("30d", 2_592_000)]
    [InlineData("2w", 1_209_600)]
    public void Duration_arguments_parse(string text, double seconds)
    {
        Assert.True(TimeArgs.TryParseDuration(text, out var d));
        Assert.Equal(seconds, d.TotalSeconds);
    }

    [Theory]
    [InlineData("")]
    [InlineData("0m")]
    [InlineData("soon")]
    [InlineData("5 m")]
    [InlineData("m")]
    public void Bad_durations_are_rejected(string text) => Assert.False(TimeArgs.TryParseDuration(text, out _));

    [Fact]
    public void Since_takes_a_duration_before_now_or_an_absolute_time()
    {
        var now = new DateTimeOffset(2026, 11, 2, 9, 0, 0, TimeSpan.Zero);
        Assert.Equal(now.AddDays(-30), TimeArgs.Since("30d", now));
        Assert.Equal(new DateTimeOffset(2026, 10, 1, 0, 0, 0, TimeSpan.Zero), TimeArgs.Since("2026-10-01", now));
        Assert.Equal(new DateTimeOffset(2026, 10, 1, 7, 30, 0, TimeSpan.Zero), TimeArgs.Since("2026-10-01T09:30:00+02:00", now));
        var ex = Assert.Throws<WkException>(() => TimeArgs.Since("yesterday", now));
        Assert.Equal(ExitCodes.Usage, ex.ExitCode);
    }

    [Theory]
    [InlineData("http://127.0.0.1:9700", "http://127.0.0.1:9700/")]
    [InlineData("127.0.0.1:9700", "http://127.0.0.1:9700/")]
    [InlineData("https://wk.example.org/watchkeeper", "https://wk.example.org/watchkeeper/")]
    [InlineData("https://wk.example.org/#frag", "https://wk.example.org/")]
    public void Server_urls_are_normalised_to_a_base_with_a_trailing_slash(string text, string expected) =>
        Assert.Equal(expected, Ctx.ParseUrl(text).ToString());

    [Theory]
    [InlineData("ftp://example.org")]
    [InlineData("http://")]
    [InlineData("http://example.org/?x=1")]
    public void Bad_server_urls_are_usage_errors(string text) =>
        Assert.Equal(ExitCodes.Usage, Assert.Throws<WkException>(() => Ctx.ParseUrl(text)).ExitCode);

    [Fact]
    public void Saved_tokens_match_their_server_however_the_url_is_spelled()
    {
        Assert.True(Ctx.SameServer(Ctx.ParseUrl("http://127.0.0.1:9700/"), "http://127.0.0.1:9700"));
        Assert.True(Ctx.SameServer(Ctx.ParseUrl("HTTP://Example.org"), "http://example.org/"));
        Assert.False(Ctx.SameServer(Ctx.ParseUrl("http://127.0.0.1:9701"), "http://127.0.0.1:9700"));
        Assert.False(Ctx.SameServer(Ctx.ParseUrl("https://example.org"), "http://example.org"));
        Assert.False(Ctx.SameServer(Ctx.ParseUrl("https://example.org"), null));
    }

    [Fact]
    public void Problems_render_as_one_line_with_fields_options_and_allowed_states()
    {
        var validation = Problem.TryParse("""{"title":"Invalid request","status":400,"detail":"severity: bad","errors":{"severity":["unknown severity 'X'"]}}""")!;
        Assert.Equal("invalid request: severity (--severity): unknown severity 'X'", validation.Describe(f => "--" + f));
        var conflict = Problem.TryParse("""{"title":"Conflict","status":409,"detail":"cannot move","allowed":["investigating"]}""")!;
        Assert.Equal("cannot move (allowed: investigating)", conflict.Describe(_ => null));
        var multiline = Problem.TryParse("""{"title":"Error","detail":"line one\nline two"}""")!;
        Assert.Equal("line one line two", multiline.Describe(_ => null));
        Assert.Null(Problem.TryParse("<html>502 Bad Gateway</html>"));
        Assert.Null(Problem.TryParse("""{"items":[]}"""));
    }
}
