using Watchkeeper.Metrics.Model;
using Watchkeeper.Metrics.Relabel;

namespace Watchkeeper.Metrics.Tests.Relabel;

public sealed class RelabelTests
{
    private static Labels? Run(Labels l, params RelabelConfig[] cfgs) => Relabeler.Process(l, [.. cfgs.Select(c => c.Compile())]);

    private static readonly Labels Input = Labels.Of("__name__", "http_requests_total", "job", "api", "instance", "host-1:9100", "path", "/users/42");

    [Fact]
    public void Replace_defaults_copy_the_joined_sources_into_the_target()
    {
        var r = Run(Input, new RelabelConfig { SourceLabels = ["job", "instance"], TargetLabel = "joined" });
        Assert.Equal("api;host-1:9100", r!.Get("joined"));
    }

    [Fact]
    public void Replace_expands_numbered_braced_and_named_groups()
    {
        var r = Run(Input,
            new RelabelConfig { SourceLabels = ["instance"], Regex = "(.*):(\\d+)", TargetLabel = "host", Replacement = "$1" },
            new RelabelConfig { SourceLabels = ["instance"], Regex = "(.*):(\\d+)", TargetLabel = "port", Replacement = "${2}x" },
            new RelabelConfig { SourceLabels = ["path"], Regex = "/(?P<kind>[a-z]+)/.*", TargetLabel = "kind", Replacement = "$kind" },
            new RelabelConfig { SourceLabels = ["path"], Regex = "/(?P<kind>[a-z]+)/.*", TargetLabel = "${kind}_seen", Replacement = "yes" },
            new RelabelConfig { SourceLabels = ["job"], TargetLabel = "dollar", Replacement = "$$1" });
        Assert.Equal("host-1", r!.Get("host"));
        Assert.Equal("9100x", r.Get("port"));
        Assert.Equal("users", r.Get("kind"));
        Assert.Equal("yes", r.Get("users_seen"));
        Assert.Equal("$1", r.Get("dollar"));
    }

    [Fact]
    public void Groups_are_numbered_left_to_right_as_in_re2()
    {
        var l = Labels.Of("v", "xx-(yy)");
        var r = Run(l, new RelabelConfig { SourceLabels = ["v"], Regex = "(?P<a>x+)-[(](y+)(?:[)])", TargetLabel = "out", Replacement = "$1|$2|${a}|$3" });
        Assert.Equal("xx|yy|xx|", r!.Get("out"));
    }

    [Fact]
    public void Regex_is_anchored_and_non_match_leaves_labels_alone()
    {
        var r = Run(Input, new RelabelConfig { SourceLabels = ["job"], Regex = "ap", TargetLabel = "x", Replacement = "hit" });
        Assert.Same(Input, r);
    }

    [Fact]
    public void Replace_with_empty_result_deletes_the_target()
    {
        var r = Run(Input, new RelabelConfig { SourceLabels = ["nonexistent"], Regex = "(.*)", TargetLabel = "path", Replacement = "$1" });
        Assert.Null(r!.Get("path"));
    }

    [Fact]
    public void Keep_and_drop_filter_label_sets()
    {
        Assert.NotNull(Run(Input, new RelabelConfig { SourceLabels = ["job"], Regex = "api|web", Action = RelabelAction.Keep }));
        Assert.Null(Run(Input, new RelabelConfig { SourceLabels = ["job"], Regex = "web", Action = RelabelAction.Keep }));
        Assert.Null(Run(Input, new RelabelConfig { SourceLabels = ["__name__"], Regex = "http_.*", Action = RelabelAction.Drop }));
    }

    [Fact]
    public void Keepequal_and_dropequal_compare_with_the_target_label()
    {
        var l = Labels.Of("a", "x", "b", "x", "c", "y");
        Assert.NotNull(Run(l, new RelabelConfig { SourceLabels = ["a"], TargetLabel = "b", Action = RelabelAction.KeepEqual }));
        Assert.Null(Run(l, new RelabelConfig { SourceLabels = ["a"], TargetLabel = "c", Action = RelabelAction.KeepEqual }));
        Assert.Null(Run(l, new RelabelConfig { SourceLabels = ["a"], TargetLabel = "b", Action = RelabelAction.DropEqual }));
    }

    [Fact]
    public void Labelmap_labeldrop_labelkeep_work_on_names()
    {
        var l = Labels.Of("__meta_kubernetes_pod_label_app", "api", "__meta_x", "1", "job", "j", "tmp_a", "1");
        var mapped = Run(l, new RelabelConfig { Regex = "__meta_kubernetes_pod_label_(.+)", Action = RelabelAction.LabelMap });
        Assert.Equal("api", mapped!.Get("app"));
        var dropped = Run(l, new RelabelConfig { Regex = "tmp_.*", Action = RelabelAction.LabelDrop });
        Assert.False(dropped!.Has("tmp_a"));
        var kept = Run(l, new RelabelConfig { Regex = "job|__meta_x", Action = RelabelAction.LabelKeep });
        Assert.Equal(["__meta_x", "job"], kept!.Select(x => x.Name));
    }

    [Fact]
    public void Hashmod_lowercase_uppercase()
    {
        var r = Run(Input,
            new RelabelConfig { SourceLabels = ["instance"], Modulus = 8, TargetLabel = "shard", Action = RelabelAction.HashMod },
            new RelabelConfig { SourceLabels = ["job"], TargetLabel = "up", Action = RelabelAction.Uppercase },
            new RelabelConfig { SourceLabels = ["up"], TargetLabel = "low", Action = RelabelAction.Lowercase });
        var expected = Relabeler.HashModValue("host-1:9100") % 8;
        Assert.Equal(expected.ToString(System.Globalization.CultureInfo.InvariantCulture), r!.Get("shard"));
        Assert.Equal("API", r.Get("up"));
        Assert.Equal("api", r.Get("low"));
    }

    [Fact]
    public void Hashmod_uses_the_low_eight_bytes_of_md5_big_endian()
    {
        // md5("") = d41d8cd98f00b204e9800998ecf8427e; low 8 bytes e9800998ecf8427e
        Assert.Equal(0xe9800998ecf8427eUL, Relabeler.HashModValue(""));
    }

    [Theory]
    [InlineData(RelabelAction.Replace, "")]
    [InlineData(RelabelAction.HashMod, "t")]
    [InlineData(RelabelAction.Lowercase, "")]
    public void Invalid_configs_are_rejected(RelabelAction action, string target)
        => Assert.Throws<ArgumentException>(() => new RelabelConfig { Action = action, TargetLabel = target }.Compile());

    [Fact]
    public void Labeldrop_rejects_other_fields() =>
        Assert.Throws<ArgumentException>(() => new RelabelConfig { Action = RelabelAction.LabelDrop, SourceLabels = ["a"] }.Compile());
}
