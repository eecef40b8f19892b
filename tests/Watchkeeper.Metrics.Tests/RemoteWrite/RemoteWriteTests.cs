using System.Net;
using Microsoft.Extensions.Time.Testing;
using Watchkeeper.Metrics.Model;
using Watchkeeper.Metrics.Relabel;
using Watchkeeper.Metrics.RemoteWrite;
using Watchkeeper.Metrics.Scrape;

namespace Watchkeeper.Metrics.Tests.RemoteWrite;

public sealed class RemoteWriteTests
{
    [Fact]
    public void Encoding_matches_the_protobuf_wire_format()
    {
        var proto = RemoteWriteCodec.EncodeProto([new TimeSeriesData(Labels.Of("a", "b"), [new Sample(2, 1.0)])]);
        // WriteRequest{timeseries: [{labels: [{name: "a", value: "b"}], samples: [{value: 1.0, timestamp: 2}]}]}
        Assert.Equal("0a150a060a0161120162120b09000000000000f03f1002", Convert.ToHexString(proto).ToLowerInvariant());
    }

    [Fact]
    public void Round_trip_through_snappy_and_protobuf()
    {
        var series = new List<TimeSeriesData>
        {
            new(Labels.Of("__name__", "up", "job", "api", "instance", "h:1"), [new Sample(1000, 1), new Sample(2000, 0)]),
            new(Labels.Of("__name__", "temp", "room", "k\u00fcche"), [new Sample(-5, double.NaN), new Sample(0, StaleNaN.Value)]),
        };
        var body = RemoteWriteCodec.Encode(series);
        var r = RemoteWriteCodec.Decode(body);
        Assert.True(r.IsValid, r.Error);
        Assert.Equal(2, r.Series.Count);
        Assert.Equal(series[0].Labels, r.Series[0].Labels);
        Assert.Equal(series[0].Samples, r.Series[0].Samples);
        Assert.Equal("k\u00fcche", r.Series[1].Labels.Get("room"));
        Assert.Equal(-5, r.Series[1].Samples[0].T);
        Assert.True(StaleNaN.Is(r.Series[1].Samples[1].V));
    }

    [Theory]
    [InlineData(new[] { "job", "a", "__name__", "m" }, "not sorted")]
    [InlineData(new[] { "__name__", "m", "job", "a", "job", "b" }, "duplicate label name")]
    [InlineData(new[] { "__name__", "m", "1bad", "a" }, "invalid label name")]
    [InlineData(new[] { "__name__", "bad-name" }, "invalid metric name")]
    [InlineData(new[] { "job", "a" }, "no metric name")]
    public void Decoder_reports_the_first_invalid_series(string[] pairs, string reason)
    {
        var bad = new Label[pairs.Length / 2];
        for (var i = 0; i < bad.Length; i++) bad[i] = new Label(pairs[2 * i], pairs[2 * i + 1]);
        var series = new List<TimeSeriesData>
        {
            new(Labels.Of("__name__", "ok"), [new Sample(1, 1)]),
            new(Labels.FromSorted(bad), [new Sample(1, 1)]),
            new(Labels.FromSorted([new Label("a", "z"), new Label("a", "y")]), [new Sample(1, 1)]),
        };
        var r = RemoteWriteCodec.Decode(RemoteWriteCodec.Encode(series));
        Assert.False(r.IsValid);
        Assert.Equal(1, r.InvalidSeriesIndex);
        Assert.Contains(reason, r.Error);
        Assert.StartsWith("series 1 ", r.Error);
    }

    [Fact]
    public void Garbage_bodies_are_errors_not_exceptions()
    {
        var rng = new Random(7);
        var good = RemoteWriteCodec.EncodeProto([new TimeSeriesData(Labels.Of("__name__", "m", "a", "b"), [new Sample(5, 1.5)])]);
        for (var i = 0; i < 2000; i++)
        {
            var b = (byte[])good.Clone();
            for (var m = 0; m < 1 + rng.Next(4); m++) b[rng.Next(b.Length)] = (byte)rng.Next(256);
            _ = RemoteWriteCodec.DecodeProto(b);
            _ = RemoteWriteCodec.Decode(b);
            _ = RemoteWriteCodec.Decode(Snappier.Snappy.CompressToArray(b));
        }
        Assert.False(RemoteWriteCodec.Decode([0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2]).IsValid);
    }

    private static RemoteWriteConfig Config(int maxPerSend = 2, int shards = 1, int maxRetries = 0) => new()
    {
        Url = new Uri("http://remote.test/api/v1/write"),
        Headers = new Dictionary<string, string> { ["X-Tenant"] = "t1" },
        Queue = new QueueConfig
        {
            MaxShards = shards, MinShards = 1, MaxSamplesPerSend = maxPerSend, Capacity = 100,
            BatchSendDeadline = TimeSpan.FromSeconds(5), MinBackoff = TimeSpan.FromMilliseconds(100), MaxBackoff = TimeSpan.FromSeconds(1),
            MaxRetries = maxRetries,
        },
    };

    private static async Task WaitUntil(Func<bool> cond, FakeTimeProvider? time = null, TimeSpan? step = null)
    {
        for (var i = 0; i < 2000 && !cond(); i++)
        {
            if (time is not null) time.Advance(step ?? TimeSpan.FromMilliseconds(100));
            await Task.Delay(TimeSpan.FromMilliseconds(5), TimeProvider.System);
        }
        Assert.True(cond());
    }

    private static List<TimeSeriesData> Decode(byte[] body)
    {
        var r = RemoteWriteCodec.Decode(body);
        Assert.True(r.IsValid, r.Error);
        return [.. r.Series];
    }

    [Fact]
    public async Task Full_batches_go_at_once_and_partial_ones_at_the_deadline()
    {
        var time = new FakeTimeProvider();
        var handler = new StubHttpHandler(_ => new HttpResponseMessage(HttpStatusCode.NoContent));
        await using var sender = new RemoteWriteSender(Config(), time, handler, Labels.Of("cluster", "c1"));
        sender.Enqueue(Labels.Of("__name__", "a"), 1, 1);
        sender.Enqueue(Labels.Of("__name__", "a"), 2, 2);
        sender.Enqueue(Labels.Of("__name__", "b"), 3, 3);
        await WaitUntil(() => handler.Bodies.Count == 1);
        var first = Decode(handler.Bodies[0]);
        Assert.Equal(Labels.Of("__name__", "a", "cluster", "c1"), Assert.Single(first).Labels);
        Assert.Equal(2, first[0].Samples.Count);
        var req = handler.Requests[0];
        Assert.Equal("snappy", req.Content!.Headers.ContentEncoding.Single());
        Assert.Equal("application/x-protobuf", req.Content.Headers.ContentType!.MediaType);
        Assert.Equal("0.1.0", req.Headers.GetValues("X-Prometheus-Remote-Write-Version").Single());
        Assert.Equal("t1", req.Headers.GetValues("X-Tenant").Single());

        Assert.Single(handler.Bodies);
        await WaitUntil(() => handler.Bodies.Count == 2, time, TimeSpan.FromSeconds(1));
        Assert.Equal("b", Decode(handler.Bodies[1])[0].Labels.Name);
        Assert.Equal(3, sender.Stats.SamplesSent);
    }

    [Fact]
    public async Task Server_errors_and_429_are_retried_with_backoff()
    {
        var time = new FakeTimeProvider();
        var calls = 0;
        var handler = new StubHttpHandler(_ => Interlocked.Increment(ref calls) switch
        {
            1 => new HttpResponseMessage(HttpStatusCode.InternalServerError),
            2 => new HttpResponseMessage(HttpStatusCode.TooManyRequests),
            _ => new HttpResponseMessage(HttpStatusCode.OK),
        });
        await using var sender = new RemoteWriteSender(Config(), time, handler);
        sender.Enqueue(Labels.Of("__name__", "a"), 1, 1);
        var flush = sender.FlushAsync();
        await WaitUntil(() => flush.IsCompleted, time);
        Assert.Equal(3, calls);
        Assert.Equal(2, sender.Stats.Retries);
        Assert.Equal(1, sender.Stats.SamplesSent);
        Assert.Equal(0, sender.Stats.SamplesFailed);
    }

    /// <summary>A fake clock that records the due time of every short timer created, so a test can advance exactly to it.</summary>
    private sealed class TimerRecordingTimeProvider : FakeTimeProvider
    {
        private readonly List<TimeSpan> _due = [];

        public int Count { get { lock (_due) return _due.Count; } }
        public TimeSpan Last { get { lock (_due) return _due[^1]; } }

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            if (dueTime > TimeSpan.Zero && dueTime < TimeSpan.FromSeconds(2)) lock (_due) _due.Add(dueTime); // backoffs, not deadlines or timeouts
            return base.CreateTimer(callback, state, dueTime, period);
        }
    }

    [Fact]
    public async Task Backoff_doubles_up_to_the_maximum()
    {
        var time = new TimerRecordingTimeProvider();
        var calls = 0;
        var handler = new StubHttpHandler(_ =>
        {
            Interlocked.Increment(ref calls);
            return new HttpResponseMessage(HttpStatusCode.BadGateway);
        });
        await using var sender = new RemoteWriteSender(Config(maxRetries: 6), time, handler);
        sender.Enqueue(Labels.Of("__name__", "a"), 1, 1);
        var flush = sender.FlushAsync();
        var waits = new List<double>();
        for (var i = 0; i < 2000 && !flush.IsCompleted; i++)
        {
            if (time.Count > waits.Count)
            {
                waits.Add(time.Last.TotalMilliseconds);
                time.Advance(time.Last);
                continue;
            }
            await Task.Delay(TimeSpan.FromMilliseconds(2), TimeProvider.System);
        }
        await flush.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal([100, 200, 400, 800, 1000], waits);
        Assert.Equal(6, calls);
        Assert.Equal(1, sender.Stats.SamplesFailed);
    }

    [Fact]
    public async Task Client_errors_other_than_429_are_not_retried()
    {
        var time = new FakeTimeProvider();
        var handler = new StubHttpHandler(_ => new HttpResponseMessage(HttpStatusCode.BadRequest) { Content = new StringContent("out of order sample") });
        await using var sender = new RemoteWriteSender(Config(), time, handler);
        sender.Enqueue(Labels.Of("__name__", "a"), 1, 1);
        await sender.FlushAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Single(handler.Requests);
        Assert.Equal(1, sender.Stats.SamplesFailed);
        Assert.Contains("400", sender.Stats.LastError);
        Assert.Contains("out of order", sender.Stats.LastError);
    }

    [Fact]
    public async Task Write_relabel_drops_series_and_shards_keep_series_order()
    {
        var time = new FakeTimeProvider();
        var handler = new StubHttpHandler(_ => new HttpResponseMessage(HttpStatusCode.OK));
        var cfg = Config(maxPerSend: 1000, shards: 3) with
        {
            WriteRelabelConfigs = [new RelabelConfig { SourceLabels = ["__name__"], Regex = "debug_.*", Action = RelabelAction.Drop }.Compile()],
        };
        await using var sender = new RemoteWriteSender(cfg, time, handler);
        Assert.False(sender.Enqueue(Labels.Of("__name__", "debug_x"), 1, 1));
        for (var i = 0; i < 30; i++) sender.Enqueue(Labels.Of("__name__", "m", "i", (i % 5).ToString(System.Globalization.CultureInfo.InvariantCulture)), i, i);
        await sender.FlushAsync().WaitAsync(TimeSpan.FromSeconds(10));
        var all = handler.Bodies.SelectMany(Decode).ToList();
        Assert.DoesNotContain(all, s => s.Labels.Name == "debug_x");
        Assert.Equal(30, all.Sum(s => s.Samples.Count));
        foreach (var g in all.GroupBy(s => s.Labels))
        {
            var ts = g.SelectMany(s => s.Samples).Select(s => s.T).ToList();
            Assert.Equal(ts.Order(), ts);
        }
        Assert.Equal(1, sender.Stats.SamplesDropped);
    }

    [Fact]
    public async Task Scrape_path_feeds_remote_write_through_the_store_decorator()
    {
        var time = new FakeTimeProvider();
        var handler = new StubHttpHandler(_ => new HttpResponseMessage(HttpStatusCode.OK));
        await using var sender = new RemoteWriteSender(Config(maxPerSend: 100), time, handler);
        var inner = new CollectingSeriesStore();
        var store = new RemoteWriteStore(inner, [sender]);
        var cfg = new ScrapeConfig { JobName = "j", StaticConfigs = [new TargetGroup(["h:1"], new Dictionary<string, string>(), "s")] };
        var target = TargetBuilder.Build(cfg, cfg.StaticConfigs).Active[0];
        var loop = new ScrapeLoop(target, cfg, new HttpClient(new StubHttpHandler(_ => StubHttpHandler.Text("m 1\n"))), store, time);
        await loop.ScrapeAsync();
        await sender.FlushAsync().WaitAsync(TimeSpan.FromSeconds(10));
        var names = handler.Bodies.SelectMany(Decode).Select(s => s.Labels.Name).ToHashSet();
        Assert.Contains("m", names);
        Assert.Contains("up", names);
        Assert.NotNull(inner.Find("m"));
    }
}

public sealed class RemoteWriteIngesterTests
{
    [Fact]
    public void Valid_request_is_stored_and_answered_204()
    {
        var store = new CollectingSeriesStore();
        var body = RemoteWriteCodec.Encode([new TimeSeriesData(Labels.Of("__name__", "m", "a", "b"), [new Sample(1, 1), new Sample(2, 2)])]);
        var r = RemoteWriteIngester.Ingest(body, "application/x-protobuf", "snappy", store);
        Assert.Equal(204, r.StatusCode);
        Assert.Equal(2, r.SamplesAppended);
        Assert.Equal(2, store.Samples(Labels.Of("__name__", "m", "a", "b")).Count);
    }

    [Fact]
    public void Invalid_series_rejects_the_whole_request()
    {
        var store = new CollectingSeriesStore();
        var body = RemoteWriteCodec.Encode([
            new TimeSeriesData(Labels.Of("__name__", "ok"), [new Sample(1, 1)]),
            new TimeSeriesData(Labels.FromSorted([new Label("z", "1"), new Label("__name__", "m")]), [new Sample(1, 1)])]);
        var r = RemoteWriteIngester.Ingest(body, "application/x-protobuf", "snappy", store);
        Assert.Equal(400, r.StatusCode);
        Assert.Contains("series 1", r.Error);
        Assert.Empty(store.AllSeries());
    }

    [Theory]
    [InlineData("application/json", "snappy")]
    [InlineData("application/x-protobuf;proto=io.prometheus.write.v2.Request", "snappy")]
    [InlineData("application/x-protobuf", "gzip")]
    public void Unsupported_formats_are_415(string type, string encoding) =>
        Assert.Equal(415, RemoteWriteIngester.Ingest([], type, encoding, new CollectingSeriesStore()).StatusCode);

    private static byte[] Body(params TimeSeriesData[] series) => RemoteWriteCodec.Encode(series);

    private static RemoteWriteIngestResult Ingest(byte[] body, ISeriesStore? store = null, RemoteWriteLimits? limits = null) =>
        RemoteWriteIngester.Ingest(body, "application/x-protobuf", "snappy", store ?? new CollectingSeriesStore(), limits ?? RemoteWriteLimits.Default);

    [Fact]
    public void A_zero_length_block_followed_by_garbage_is_400()
    {
        var store = new CollectingSeriesStore();
        var r = Ingest([0x00, 0x41, 0x42, 0x43, 0xff, 0x13, 0x37], store);
        Assert.Equal(400, r.StatusCode);
        Assert.Contains("snappy", r.Error);
        Assert.Empty(store.AllSeries());
    }

    [Fact]
    public void A_valid_body_with_trailing_bytes_is_400_and_stores_nothing()
    {
        var store = new CollectingSeriesStore();
        var good = Body(new TimeSeriesData(Labels.Of("__name__", "m"), [new Sample(1, 1)]));
        var r = Ingest([.. good, 0x00, 0x01], store);
        Assert.Equal(400, r.StatusCode);
        Assert.Empty(store.AllSeries());
        Assert.Equal(204, Ingest(good, store).StatusCode);
    }

    [Fact]
    public void An_empty_request_is_204() => Assert.Equal(204, Ingest([0x00]).StatusCode);

    [Fact]
    public void Label_errors_show_the_series_in_Prometheus_notation()
    {
        var body = Body(
            new TimeSeriesData(Labels.Of("__name__", "ok"), [new Sample(1, 1)]),
            new TimeSeriesData(Labels.FromSorted([new Label("z", "1"), new Label("__name__", "m"), new Label("q", "a\"b")]), [new Sample(1, 1)]));
        var r = Ingest(body);
        Assert.Equal(400, r.StatusCode);
        Assert.StartsWith("series 1 m{z=\"1\", q=\"a\\\"b\"}: labels are not sorted", r.Error);
        Assert.DoesNotContain("TimeSeriesData", r.Error);
        Assert.DoesNotContain("List`1", r.Error);
    }

    [Fact]
    public void A_series_with_more_labels_than_max_label_names_per_series_is_400_naming_limit_and_series()
    {
        var labels = new Label[100_001];
        labels[0] = new Label("__name__", "wide");
        for (var i = 0; i < 100_000; i++) labels[i + 1] = new Label("l" + i.ToString("D6", System.Globalization.CultureInfo.InvariantCulture), "v");
        var store = new CollectingSeriesStore();
        var r = Ingest(Body(new TimeSeriesData(Labels.FromSorted(labels), [new Sample(1, 1)])), store);
        Assert.Equal(400, r.StatusCode);
        Assert.Contains("max_label_names_per_series (30)", r.Error);
        Assert.Contains("100001 labels", r.Error);
        Assert.Contains("wide{", r.Error);
        Assert.True(r.Error!.Length < 2000, "the message must not echo every label");
        Assert.Empty(store.AllSeries());
    }

    [Fact]
    public void A_label_value_longer_than_max_label_value_length_is_400_without_echoing_it()
    {
        var big = new string('x', 10 << 20);
        var r = Ingest(Body(new TimeSeriesData(Labels.Of("__name__", "m", "blob", big), [new Sample(1, 1)])),
            limits: RemoteWriteLimits.Default with { MaxBodyBytes = 0, MaxDecompressedBytes = 0 });
        Assert.Equal(400, r.StatusCode);
        Assert.Contains("max_label_value_length (2048 bytes)", r.Error);
        Assert.Contains("\"blob\"", r.Error);
        Assert.Contains("m{blob=", r.Error);
        Assert.True(r.Error!.Length < 2000);
    }

    [Fact]
    public void A_label_name_longer_than_max_label_name_length_is_400()
    {
        var r = Ingest(Body(new TimeSeriesData(Labels.Of("__name__", "m", new string('n', 1025), "v"), [new Sample(1, 1)])));
        Assert.Equal(400, r.StatusCode);
        Assert.Contains("max_label_name_length (1024 bytes)", r.Error);
    }

    [Fact]
    public void Limits_are_configurable_and_zero_disables_them()
    {
        var body = Body(new TimeSeriesData(Labels.Of("__name__", "m", "a", "1", "b", "2"), [new Sample(1, 1)]));
        var tight = RemoteWriteLimits.Default with { Series = IngestLimits.Default with { MaxLabelNamesPerSeries = 2 } };
        Assert.Contains("max_label_names_per_series (2)", Ingest(body, limits: tight).Error);
        Assert.Equal(204, Ingest(body, limits: RemoteWriteLimits.Default with { Series = IngestLimits.None }).StatusCode);
    }

    [Fact]
    public void Bodies_over_the_size_limits_are_refused()
    {
        var series = new TimeSeriesData[2000];
        for (var i = 0; i < series.Length; i++) series[i] = new TimeSeriesData(Labels.Of("__name__", "m", "i", i.ToString(System.Globalization.CultureInfo.InvariantCulture)), [new Sample(1, 1)]);
        var body = Body(series);
        var raw = Snappier.Snappy.GetUncompressedLength(body);
        var r = Ingest(body, limits: RemoteWriteLimits.Default with { MaxDecompressedBytes = raw - 1 });
        Assert.Equal(400, r.StatusCode);
        Assert.Contains("remote_write_max_decompressed_bytes", r.Error);
        r = Ingest(body, limits: RemoteWriteLimits.Default with { MaxBodyBytes = body.Length - 1 });
        Assert.Equal(413, r.StatusCode);
        Assert.Equal(204, Ingest(body).StatusCode);
    }
}
