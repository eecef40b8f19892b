using Watchkeeper.Alerting.Alerts;

namespace Watchkeeper.Alerting.Tests;

/// <summary>The compact label sets the store holds, the dispatcher's group index and its wake-up signal.</summary>
public sealed class HotPathTests
{
    private static readonly Dictionary<string, string> Posted = new(StringComparer.Ordinal)
    {
        ["severity"] = "warning", ["alertname"] = "Down", ["instance"] = "host:9100", ["job"] = "api",
    };

    [Fact]
    public void Label_dictionary_is_sorted_and_answers_as_the_posted_dictionary()
    {
        var m = LabelDictionary.From(Posted);
        Assert.Equal(["alertname", "instance", "job", "severity"], m.Keys);
        Assert.Equal(4, m.Count);
        Assert.Equal("api", m["job"]);
        Assert.True(m.TryGetValue("instance", out var v) && v == "host:9100");
        Assert.False(m.ContainsKey("service"));
        Assert.Throws<KeyNotFoundException>(() => m["service"]);
        // Fingerprint and text form are the same as for the dictionary (Alertmanager's).
        Assert.Equal(LabelSets.Fingerprint(Posted), LabelSets.Fingerprint(m));
        Assert.Equal(LabelSets.Format(Posted), LabelSets.Format(m));
        Assert.Same(m, LabelDictionary.From(m));
        Assert.Same(LabelDictionary.Empty, LabelDictionary.From(new Dictionary<string, string>()));
    }

    [Fact]
    public void Alerts_sort_by_job_then_instance_then_label_text_with_labelled_alerts_first()
    {
        static Alert A(params string[] pairs)
        {
            var d = new Dictionary<string, string>(StringComparer.Ordinal);
            for (var i = 0; i < pairs.Length; i += 2) d[pairs[i]] = pairs[i + 1];
            var t = new DateTimeOffset(2026, 11, 2, 9, 0, 0, TimeSpan.Zero);
            return new Alert(LabelDictionary.From(d), LabelDictionary.Empty, t, t.AddHours(1), "", t, false);
        }

        Alert[] expected =
        [
            A("alertname", "X", "job", "a", "instance", "h1"),
            A("alertname", "X", "job", "a", "instance", "h2"),
            A("alertname", "Y", "job", "a", "instance", "h2"),
            A("alertname", "X", "job", "a"),
            A("alertname", "X", "job", "b", "instance", "h0"),
            A("alertname", "X", "instance", "h0"),
            A("alertname", "A"),
            A("alertname", "B", "zone", "z"),  // '{alertname="B", zone=...' sorts before '{alertname="B"}' (',' < '}')
            A("alertname", "B"),
        ];
        for (var seed = 0; seed < 5; seed++)
        {
            var shuffled = expected.ToArray();
            new Random(seed).Shuffle(shuffled);
            Assert.Equal(expected.Select(a => LabelSets.Format(a.Labels)), Watchkeeper.Alerting.Dispatch.Dispatcher.Sort(shuffled).Select(a => LabelSets.Format(a.Labels)));
        }
    }

    [Fact]
    public void Non_ascii_labels_fingerprint_as_utf8()
    {
        var d = new Dictionary<string, string> { ["alertname"] = "Température", ["zone"] = "東京" };
        Assert.Equal(LabelSets.Fingerprint(d), LabelSets.Fingerprint(LabelDictionary.From(d)));
    }

    [Fact]
    public void Builder_keeps_the_last_value_of_a_repeated_name_and_shares_equal_strings()
    {
        var b = new LabelDictionary.Builder();
        b.Add("a", "1");
        b.Add("b", "2");
        b.Add("a", "3");
        var m = b.Build();
        Assert.Equal(2, m.Count);
        Assert.Equal("3", m["a"]);
        var x = LabelDictionary.From(new Dictionary<string, string> { ["severity"] = new string("warning".AsSpan()) });
        var y = LabelDictionary.From(new Dictionary<string, string> { ["severity"] = new string("warning".AsSpan()) });
        Assert.Same(x["severity"], y["severity"]);
        Assert.Same(StringPool.Get("warning".AsSpan()), x["severity"]);
    }

    [Fact]
    public void Store_holds_compact_label_sets()
    {
        using var h = new Harness(DispatcherTests.Yaml);
        h.Post("alertname=Down,service=api,severity=warning");
        var a = Assert.Single(h.Engine.Store.Snapshot());
        Assert.IsType<LabelDictionary>(a.Labels);
        Assert.Equal("api", a.Labels["service"]);
    }

    [Fact]
    public void A_new_group_wakes_the_timer_loop_and_an_alert_for_an_existing_group_does_not()
    {
        using var h = new Harness(DispatcherTests.Yaml);
        var due = h.Engine.GroupDue;
        Assert.False(due.IsCompleted);
        h.Post("alertname=Down,service=api,severity=warning");
        Assert.True(due.IsCompleted);
        due = h.Engine.GroupDue;
        h.Post("alertname=Down,service=web,severity=warning");  // same group (group_by: alertname)
        Assert.False(due.IsCompleted);
        Assert.Equal(2, Assert.Single(h.Engine.Groups()).Alerts.Count);
        h.Post("alertname=Up,service=web,severity=warning");
        Assert.True(due.IsCompleted);
        Assert.Equal(2, h.Engine.Groups().Count);
    }
}
