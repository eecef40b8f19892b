using Watchkeeper.Metrics.Templates;
using Xunit;

namespace Watchkeeper.Metrics.Tests.Templates;

/// <summary>Go text/template semantics: each expected output is what Go 1.22+ produces for the same template and data.</summary>
public sealed class GoTemplateTests
{
    private static readonly Dictionary<string, object?> Data = new()
    {
        ["Name"] = "web",
        ["Count"] = 3L,
        ["Ratio"] = 0.25,
        ["Big"] = 1e6,
        ["Empty"] = "",
        ["Zero"] = 0L,
        ["Nil"] = null,
        ["True"] = true,
        ["List"] = new List<object?> { "a", "b", "c" },
        ["Nums"] = new List<object?> { 1L, 2L, 3L },
        ["EmptyList"] = new List<object?>(),
        ["Labels"] = new Dictionary<string, string> { ["job"] = "api", ["instance"] = "host:9090", ["env"] = "prod" },
        ["Map"] = new Dictionary<string, object?> { ["b"] = 2L, ["a"] = 1L },
        ["Nested"] = new Dictionary<string, object?> { ["Inner"] = new Dictionary<string, object?> { ["X"] = "deep" } },
    };

    public static TheoryData<string, string> Cases => new()
    {
        { "plain text", "plain text" },
        { "{{ .Name }}", "web" },
        { "{{.Count}}", "3" },
        { "{{ .Ratio }}", "0.25" },
        { "{{ .Big }}", "1e+06" },
        { "{{ 1234567.0 }}", "1.234567e+06" },
        { "{{ 100000.0 }}", "100000" },
        { "{{ 0.0001 }}", "0.0001" },
        { "{{ 0.00001 }}", "1e-05" },
        { "{{ 3.14 }}", "3.14" },
        { "{{ .Labels.job }}", "api" },
        { "{{ .Labels.missing }}", "" },
        { "{{ .Map.missing }}", "<no value>" },
        { "{{ .Nested.Inner.X }}", "deep" },
        { "{{ .Nil }}", "<no value>" },
        { "{{ print .Nil }}", "<nil>" },
        { "a {{- \" b \" -}} c", "a b c" },
        { "a  \n {{- 1 }}  {{- 2 -}}  \n b", "a12b" },
        { "x{{/* a comment */}}y", "xy" },
        { "x {{- /* trimmed */ -}} y", "xy" },
        { "{{ if .True }}yes{{ else }}no{{ end }}", "yes" },
        { "{{ if .Empty }}yes{{ else if .Zero }}zero{{ else }}none{{ end }}", "none" },
        { "{{ if and .True .Name }}{{ and .True .Name }}{{ end }}", "web" },
        { "{{ or .Empty .Zero \"fallback\" }}", "fallback" },
        { "{{ or .Empty .Zero }}", "0" },
        { "{{ not .Empty }}", "true" },
        { "{{ range .List }}[{{ . }}]{{ end }}", "[a][b][c]" },
        { "{{ range $i, $v := .List }}{{ $i }}={{ $v }} {{ end }}", "0=a 1=b 2=c " },
        { "{{ range $k, $v := .Labels }}{{ $k }}:{{ $v }},{{ end }}", "env:prod,instance:host:9090,job:api," },
        { "{{ range .EmptyList }}x{{ else }}empty{{ end }}", "empty" },
        { "{{ range .Nums }}{{ if eq . 2 }}{{ continue }}{{ end }}{{ . }}{{ end }}", "13" },
        { "{{ range .Nums }}{{ if eq . 2 }}{{ break }}{{ end }}{{ . }}{{ end }}", "1" },
        { "{{ range 3 }}{{ . }}{{ end }}", "012" },
        { "{{ with .Name }}<{{ . }}>{{ end }}", "<web>" },
        { "{{ with .Empty }}x{{ else }}none{{ end }}", "none" },
        { "{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}", "2" },
        { "{{ $x := \"outer\" }}{{ with .Name }}{{ $x := \"inner\" }}{{ $x }}{{ end }} {{ $x }}", "inner outer" },
        { "{{ range .List }}{{ $.Name }}{{ end }}", "webwebweb" },
        { "{{ .Name | printf \"%s!\" }}", "web!" },
        { "{{ \"x\" | printf \"%s-%s\" \"a\" }}", "a-x" },
        { "{{ (index .List 1) }}", "b" },
        { "{{ index .Labels \"job\" }}", "api" },
        { "{{ index .Map \"a\" }}", "1" },
        { "{{ len .List }} {{ len .Labels }} {{ len \"héllo\" }}", "3 3 6" },
        { "{{ slice \"abcdef\" 1 3 }}", "bc" },
        { "{{ slice .List 1 }}", "[b c]" },
        { "{{ print 1 2 \"a\" 3 \"b\" }}", "1 2a3b" },
        { "{{ println 1 \"a\" }}", "1 a\n" },
        { "{{ html \"<a href='x'>&\\\"\" }}", "&lt;a href=&#39;x&#39;&gt;&amp;&#34;" },
        { "{{ js \"it's <b> & \\\"q\\\"\\n\" }}", "it\\'s \\u003Cb\\u003E \\u0026 \\\"q\\\"\\u000A" },
        { "{{ urlquery \"a b&c=d/é\" }}", "a+b%26c%3Dd%2F%C3%A9" },
        { "{{ eq .Name \"web\" }} {{ eq 1 2 3 1 }} {{ ne .Count 3 }}", "true true false" },
        { "{{ lt 1 2 }} {{ le 2 2 }} {{ gt 1.5 2.5 }} {{ ge \"b\" \"a\" }}", "true true false true" },
        { "{{ eq .Nil \"x\" }}", "false" },
        { "{{ `raw \\n string` }}", "raw \\n string" },
        { "{{ 'a' }} {{ 0x1F }} {{ 1_000 }} {{ -5 }} {{ 1e3 }}", "97 31 1000 -5 1000" },
        { "{{ true }} {{ false }}", "true false" },
        { "{{ printf \"%d %5d|%-5d|%05d %x %X %o %b %c %q %U\" 42 42 42 -42 255 255 8 5 65 65 65 }}", "42    42|42   |-0042 ff FF 10 101 A 'A' U+0041" },
        { "{{ printf \"%f %.2f %8.3f %e %.3e %g %G\" 3.14159 3.14159 3.14159 1234.5678 1234.5678 0.000012345 1e21 }}", "3.141590 3.14    3.142 1.234568e+03 1.235e+03 1.2345e-05 1E+21" },
        { "{{ printf \"%s %q %v %t %% %10s|%-4s|%.2s\" \"a\" \"b\\\"c\" 1.5 true \"r\" \"l\" \"abc\" }}", "a \"b\\\"c\" 1.5 true %          r|l   |ab" },
        { "{{ printf \"%d\" \"x\" }} {{ printf \"%s\" 1 }} {{ printf \"%d\" }} {{ printf \"x\" 1 }}", "%!d(string=x) %!s(int=1) %!d(MISSING) x%!(EXTRA int=1)" },
        { "{{ printf \"%v %v %v\" .List .Labels .Nil }}", "[a b c] map[env:prod instance:host:9090 job:api] <nil>" },
        { "{{ printf \"%+d %+.1f % d\" 5 2.25 7 }}", "+5 +2.2  7" },
        { "{{ printf \"%.0f %.0f %.0f %.1f\" 0.5 1.5 2.5 0.25 }}", "0 2 2 0.2" },
        { "{{ printf \"%T %T %T %T\" 1 1.5 \"s\" .List }}", "int float64 string []interface {}" },
        { "{{ define \"x\" }}[{{ . }}]{{ end }}{{ template \"x\" .Name }}{{ template \"x\" }}", "[web][<no value>]" },
        { "{{ block \"b\" .Count }}<{{ . }}>{{ end }}", "<3>" },
        { "{{ (printf \"%s-%s\" \"a\" \"b\") }}", "a-b" },
        { "{{ (.Nested).Inner.X }}", "deep" },
        { "{{ $m := .Labels }}{{ $m.instance }}", "host:9090" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Renders_as_go(string template, string expected)
    {
        var set = new TemplateSet(FunctionSet.Builtins).Parse("t", template);
        Assert.Equal(expected, set.Execute("t", Data));
    }

    public static TheoryData<string, string> ParseErrors => new()
    {
        { "{{ .Foo ", "template: t:1: unclosed action" },
        { "{{ if .X }}a", "template: t:1: unexpected EOF" },
        { "{{ end }}", "template: t:1: unexpected {{end}}" },
        { "{{ else }}", "template: t:1: unexpected {{else}}" },
        { "{{ nope 1 }}", "template: t:1: function \"nope\" not defined" },
        { "{{ $x }}", "template: t:1: undefined variable \"$x\"" },
        { "\n\n{{ }}", "template: t:3: missing value for command" },
        { "{{ break }}", "template: t:1: {{break}} outside {{range}}" },
        { "{{ \"abc }}", "template: t:1: unterminated quoted string" },
        { "{{ .X | \"a\" }}", "template: t:1: non executable command in pipeline stage 2" },
        { "{{/* x }}", "template: t:1: unclosed comment" },
        { "{{ 3x }}", "template: t:1: bad number syntax: \"3x\"" },
        { "{{ define \"a\" }}1{{ end }}{{ define \"a\" }}2{{ end }}", "template: t:1: template: multiple definition of template \"a\"" },
        { "{{ if }}{{ end }}", "template: t:1: missing value for if" },
        { "{{ .X ) }}", "template: t:1: unexpected right paren" },
    };

    [Theory]
    [MemberData(nameof(ParseErrors))]
    public void Parse_errors_read_as_go(string template, string expected)
    {
        var e = Assert.Throws<TemplateException>(() => new TemplateSet(FunctionSet.Builtins).Parse("t", template));
        Assert.Equal(expected, e.Message);
    }

    public static TheoryData<string, string> ExecErrors => new()
    {
        { "{{ .Name.Foo }}", "template: t:1:3: executing \"t\" at <.Name.Foo>: can't evaluate field Foo in type string" },
        { "{{ index .List 5 }}", "template: t:1:3: executing \"t\" at <index .List 5>: error calling index: index out of range: 5" },
        { "{{ lt 1 \"a\" }}", "template: t:1:3: executing \"t\" at <lt 1 \"a\">: error calling lt: incompatible types for comparison" },
        { "{{ len 3 }}", "template: t:1:3: executing \"t\" at <len 3>: error calling len: len of type int" },
        { "{{ template \"missing\" }}", "template: t:1:12: executing \"t\" at <{{template \"missing\"...>: template \"missing\" not defined" },
        { "{{ range .Name }}{{ end }}", "template: t:1:9: executing \"t\" at <.Name>: range can't iterate over web" },
        { "{{ .Map.missing.deeper }}", "template: t:1:3: executing \"t\" at <.Map.missing.deeper>: nil pointer evaluating interface {}.deeper" },
        { "{{ printf 1 }}", "template: t:1:10: executing \"t\" at <1>: expected string; found 1" },
        { "{{ printf .Count }}", "template: t:1:10: executing \"t\" at <.Count>: wrong type for value; expected string; got int" },
        { "{{ nil | print }}", "template: t:1:3: executing \"t\" at <nil>: nil is not a command" },
        { "{{ not }}", "template: t:1:3: executing \"t\" at <not>: wrong number of args for not: want 1 got 0" },
        { "{{ .Name 1 }}", "template: t:1:3: executing \"t\" at <.Name>: Name is not a method but has arguments" },
        { "line1\n  {{ .Nested.Inner.X.Y.Z.W.V.U }}", "template: t:2:5: executing \"t\" at <.Nested.Inner.X.Y.Z....>: can't evaluate field Y in type string" },
    };

    [Theory]
    [MemberData(nameof(ExecErrors))]
    public void Execution_errors_read_as_go(string template, string expected)
    {
        var set = new TemplateSet(FunctionSet.Builtins).Parse("t", template);
        var e = Assert.Throws<TemplateException>(() => set.Execute("t", Data));
        Assert.Equal(expected, e.Message);
    }

    [Fact]
    public void Missing_key_modes_follow_go()
    {
        var dflt = new TemplateSet(FunctionSet.Builtins, new TemplateOptions(MissingKeyMode.Default)).Parse("t", "{{ .Labels.nope }}|{{ .Map.nope.deeper }}");
        Assert.Equal("<no value>|<no value>", dflt.Execute("t", Data));
        var err = new TemplateSet(FunctionSet.Builtins, new TemplateOptions(MissingKeyMode.Error)).Parse("t", "{{ .Labels.nope }}");
        Assert.Equal("template: t:1:3: executing \"t\" at <.Labels.nope>: map has no entry for key \"nope\"",
            Assert.Throws<TemplateException>(() => err.Execute("t", Data)).Message);
    }

    [Fact]
    public void Custom_delimiters()
    {
        var set = new TemplateSet(FunctionSet.Builtins, new TemplateOptions(LeftDelim: "[[", RightDelim: "]]")).Parse("t", "{{ x }} [[ .Name ]] [[- \" y\" ]]");
        Assert.Equal("{{ x }} web y", set.Execute("t", Data));
    }

    [Fact]
    public void Later_parse_redefines_a_template_but_an_empty_body_does_not()
    {
        var set = new TemplateSet(FunctionSet.Builtins).Parse("a", "{{ define \"x\" }}one{{ end }}");
        set.Parse("b", "{{ define \"x\" }}two{{ end }}{{ template \"x\" }}");
        Assert.Equal("two", set.Execute("b", null));
        set.Parse("c", "{{ define \"x\" }} {{ end }}");
        Assert.Equal("two", set.Execute("b", null));
    }

    [Fact]
    public void Limits_stop_hostile_templates()
    {
        var set = new TemplateSet(FunctionSet.Builtins).Parse("t", "{{ define \"r\" }}{{ template \"r\" . }}{{ end }}{{ template \"r\" . }}");
        var depth = Assert.Throws<TemplateException>(() => set.Execute("t", null, limits: new TemplateLimits(MaxDepth: 50)));
        Assert.Contains("exceeded maximum template depth (50)", depth.Message, StringComparison.Ordinal);

        var loop = new TemplateSet(FunctionSet.Builtins).Parse("t", "{{ range 1000000000 }}{{ range 1000000000 }}{{ end }}{{ end }}");
        var steps = Assert.Throws<TemplateException>(() => loop.Execute("t", null, limits: new TemplateLimits(MaxSteps: 10_000)));
        Assert.Contains("exceeded maximum execution steps (10000)", steps.Message, StringComparison.Ordinal);

        var big = new TemplateSet(FunctionSet.Builtins).Parse("t", "{{ range 100000 }}xxxxxxxxxx{{ end }}");
        var output = Assert.Throws<TemplateException>(() => big.Execute("t", null, limits: new TemplateLimits(MaxOutputChars: 1000)));
        Assert.Contains("output exceeds the limit of 1000 characters", output.Message, StringComparison.Ordinal);
    }
}
