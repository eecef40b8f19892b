using Watchkeeper.Metrics.Model;
using Watchkeeper.Metrics.Tsdb;

namespace Watchkeeper.Metrics.Tests.TsdbTests;

public sealed class TsdbTests : TsdbTestBase
{
    private static readonly LabelMatcher[] All = [];

    [Fact]
    public void Committed_samples_are_queryable_and_uncommitted_ones_are_not()
    {
        using var db = Open();
        var app = db.Appender();
        Assert.Equal(AppendResult.Ok, app.Append(Series(1), T0, 1));
        Assert.Empty(db.Select(long.MinValue, long.MaxValue, All));
        app.Commit();
        app.Append(Series(1), T0 + 1000, 2);
        app.Rollback();
        var s = Assert.Single(db.Select(long.MinValue, long.MaxValue, All));
        Assert.Equal(Series(1), s.Labels);
        Assert.Equal([new Sample(T0, 1)], s.Samples);
    }

    [Fact]
    public void Out_of_order_duplicate_and_too_old_samples_are_rejected_and_counted()
    {
        using var db = Open();
        var app = db.Appender();
        Assert.Equal(AppendResult.Ok, app.Append(Series(1), T0 + 10_000, 1));
        Assert.Equal(AppendResult.OutOfOrder, app.Append(Series(1), T0 + 5_000, 1)); // within the batch
        app.Commit();
        Assert.Equal(AppendResult.OutOfOrder, app.Append(Series(1), T0 + 9_000, 1));
        Assert.Equal(AppendResult.Duplicate, app.Append(Series(1), T0 + 10_000, 2));
        Assert.Equal(AppendResult.Ok, app.Append(Series(2), T0 + 5_000, 1)); // other series unaffected
        app.Commit();
        Assert.Equal(2, db.Stats.OutOfOrderRejected);
        Assert.Equal(1, db.Stats.DuplicateRejected);
        Assert.Equal(2, db.Stats.SamplesAppended);
        Assert.Equal(2, db.Stats.HeadSeries);

        // After a head cut, samples in the persisted range are too old.
        Fill(db, 2, T0 + Hour, T0 + 4 * Hour, Minute);
        db.RunMaintenance();
        Assert.Equal(AppendResult.TooOld, app.Append(Series(1), T0 + 20_000, 1));
        Assert.Equal(1, db.Stats.TooOldRejected);
    }

    [Fact]
    public void Matchers_select_the_same_series_as_a_brute_force_filter_in_head_and_blocks()
    {
        using var db = Open();
        var all = new List<Labels>();
        var app = db.Appender();
        for (var i = 0; i < 60; i++)
        {
            var pairs = new List<string> { "__name__", i % 3 == 0 ? "up" : "http_requests_total", "instance", "host-" + (i % 7), "job", i % 2 == 0 ? "api" : "web" };
            if (i % 4 == 0) pairs.AddRange(["code", (200 + i % 5 * 100).ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            var l = Labels.Of([.. pairs]);
            if (all.Contains(l)) continue;
            all.Add(l);
            app.Append(l, T0, i);
        }
        app.Commit();
        LabelMatcher[][] cases =
        [
            [new(MatchOp.Equal, "job", "api")],
            [new(MatchOp.Equal, "__name__", "up"), new(MatchOp.NotEqual, "job", "web")],
            [new(MatchOp.Regex, "instance", "host-[1-3]")],
            [new(MatchOp.NotRegex, "instance", "host-[1-3]")],
            [new(MatchOp.Equal, "code", "")],
            [new(MatchOp.NotEqual, "code", "")],
            [new(MatchOp.Regex, "code", "5..|")],
            [new(MatchOp.Regex, "code", "2.*"), new(MatchOp.Equal, "job", "api")],
            [new(MatchOp.Equal, "missing", "")],
            [new(MatchOp.Equal, "missing", "x")],
            [new(MatchOp.NotEqual, "missing", "x")],
            [new(MatchOp.Regex, "job", ".*"), new(MatchOp.NotRegex, "__name__", "up")],
            [new(MatchOp.Equal, "job", "nope")],
        ];
        void Check()
        {
            foreach (var ms in cases)
            {
                var expected = all.Where(l => ms.All(m => m.Matches(l.GetOrEmpty(m.Name)))).OrderBy(l => l).ToList();
                var got = db.Select(T0, T0, ms).Select(s => s.Labels).ToList();
                Assert.True(expected.SequenceEqual(got), $"matchers {string.Join(",", ms.Select(m => m.ToString()))}: expected {expected.Count}, got {got.Count}");
            }
            Assert.Equal(all.SelectMany(l => l.Select(x => x.Name)).Distinct().Order(StringComparer.Ordinal), db.LabelNames(long.MinValue, long.MaxValue, All));
            Assert.Equal(all.Select(l => l.GetOrEmpty("code")).Where(v => v.Length > 0).Distinct().Order(StringComparer.Ordinal), db.LabelValues("code", long.MinValue, long.MaxValue, All));
            Assert.Equal(["api"], db.LabelValues("job", long.MinValue, long.MaxValue, [new LabelMatcher(MatchOp.Equal, "job", "api")]));
        }
        Check();
        // Keep the series alive past the cut so they exist both in a block and in the head.
        for (var k = 1; k <= 4; k++)
        {
            foreach (var l in all) app.Append(l, T0 + k * Hour, k);
            app.Commit();
        }
        db.RunMaintenance();
        Assert.Single(db.Blocks);
        Check();
    }

    [Fact]
    public void Label_names_and_values_are_sorted_and_filtered_by_matchers()
    {
        using var db = Open();
        var app = db.Appender();
        app.Append(Labels.Of("__name__", "up", "job", "b", "zone", "eu"), T0, 1);
        app.Append(Labels.Of("__name__", "up", "job", "a"), T0, 1);
        app.Append(Labels.Of("__name__", "other", "job", "c"), T0 + Hour, 1);
        app.Commit();
        Assert.Equal(["__name__", "job", "zone"], db.LabelNames(long.MinValue, long.MaxValue, All));
        Assert.Equal(["a", "b", "c"], db.LabelValues("job", long.MinValue, long.MaxValue, All));
        Assert.Equal(["a", "b"], db.LabelValues("job", T0, T0, All));
        Assert.Equal(["c"], db.LabelValues("job", long.MinValue, long.MaxValue, [new LabelMatcher(MatchOp.Equal, "__name__", "other")]));
    }

    [Fact]
    public void Committed_samples_survive_a_crash_without_dispose()
    {
        var crashed = Open(skipLock: true);
        Fill(crashed, 5, T0, T0 + 10 * Minute, 15_000, (i, t) => i == 0 && t == T0 + 15_000 ? StaleNaN.Value : t);
        // No Dispose, no fsync: the data is only in the OS page cache, as after kill -9.
        using (var db = Open(skipLock: true))
        {
            Assert.Equal(5 * 40, CountSamples(db));
            var s0 = db.Select(T0 + 15_000, T0 + 15_000, [new LabelMatcher(MatchOp.Equal, "instance", "host-000")]).Single();
            Assert.True(StaleNaN.Is(s0.Samples[0].V));
            Assert.Equal(5 * 40, db.Stats.WalReplayedSamples);
            Assert.Empty(Warnings);
            // Appending after replay continues the series.
            var app = db.Appender();
            Assert.Equal(AppendResult.OutOfOrder, app.Append(Series(0), T0, 1));
            Assert.Equal(AppendResult.Ok, app.Append(Series(0), T0 + 10 * Minute, 1));
            app.Commit();
        }
        crashed.Dispose();
        using (var db = Open()) Assert.Equal(5 * 40 + 1, CountSamples(db));
    }

    [Fact]
    public void A_second_open_of_the_same_directory_is_refused()
    {
        using var db = Open();
        var e = Assert.Throws<IOException>(() => Open());
        Assert.Contains("in use", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Compaction_merges_the_small_chunks_of_sparse_series()
    {
        using var db = Open(blockDuration: TimeSpan.FromHours(1));
        Fill(db, 2, T0, T0 + 5 * Hour, 5 * Minute); // 12 samples per 1h chunk
        db.RunMaintenance();
        var big = Assert.Single(db.Blocks, b => b.Level == 2);
        Assert.Equal(2, big.Stats.NumChunks); // one 36-sample chunk per series instead of three
        Assert.Equal(2 * 36, big.Stats.NumSamples);
        AssertSeriesContinuous(db, 2, T0, T0 + 5 * Hour, 5 * Minute);
    }

    [Fact]
    public void Wal_spanning_many_segments_is_checkpointed_and_replayed()
    {
        var walDir = Path.Combine(Dir, "wal");
        using (var db = Open(walSegmentBytes: 1024))
        {
            Fill(db, 10, T0, T0 + 4 * Hour, Minute, (i, t) => i == 3 && t == T0 + 3 * Hour ? StaleNaN.Value : t);
            Assert.True(Directory.GetFiles(walDir).Length > 20);
            db.RunMaintenance();
            Assert.Single(db.Blocks);
            var files = Directory.GetFiles(walDir).Select(Path.GetFileName).ToList();
            Assert.Single(files, f => f!.StartsWith("checkpoint.", StringComparison.Ordinal));
        }
        using (var db = Open(walSegmentBytes: 1024))
        {
            AssertSeriesContinuous(db, 10, T0, T0 + 4 * Hour, Minute);
            Assert.Equal(10 * 120, db.Stats.WalReplayedSamples); // [2h, 4h) from the checkpoint and later segments
            var stale = db.Select(T0 + 3 * Hour, T0 + 3 * Hour, [new LabelMatcher(MatchOp.Equal, "instance", "host-003")]).Single();
            Assert.True(StaleNaN.Is(stale.Samples[0].V));
            Assert.Empty(Warnings);
        }
    }

    [Fact]
    public void Corruption_in_a_middle_segment_keeps_the_data_before_it_and_drops_later_segments()
    {
        var walDir = Path.Combine(Dir, "wal");
        using (var db = Open(walSegmentBytes: 1024)) Fill(db, 10, T0, T0 + Hour, Minute);
        var segments = Directory.GetFiles(walDir).Order(StringComparer.Ordinal).ToList();
        Assert.True(segments.Count > 5);
        var victim = segments[segments.Count / 2];
        var bytes = File.ReadAllBytes(victim);
        bytes[20] ^= 0xFF;
        File.WriteAllBytes(victim, bytes);
        using (var db = Open(walSegmentBytes: 1024))
        {
            Assert.Contains(Warnings, w => w.Contains("deleted", StringComparison.Ordinal));
            var n = CountSamples(db);
            Assert.InRange(n, 10, 10 * 59);
            Assert.Equal(0, n % 10); // whole commits only
            AssertSeriesContinuous(db, 10, T0, T0 + n / 10 * Minute, Minute);
        }
    }

    [Fact]
    public void Stats_export_names_every_counter_once()
    {
        using var db = Open();
        Fill(db, 2, T0, T0 + 2 * Minute, Minute);
        var metrics = db.Stats.Export();
        Assert.Equal(metrics.Count, metrics.Select(m => m.Name).Distinct().Count());
        Assert.Equal(4, metrics.Single(m => m.Name == "watchkeeper_tsdb_head_samples_appended_total").Value);
        Assert.Equal(2, metrics.Single(m => m.Name == "watchkeeper_tsdb_head_series").Value);
        Assert.All(metrics, m => Assert.Equal(m.Counter, m.Name.EndsWith("_total", StringComparison.Ordinal)));
    }

    private string LastSegment()
    {
        var files = Directory.GetFiles(Path.Combine(Dir, "wal")).Where(f => Path.GetFileName(f).Length == 8 && new FileInfo(f).Length > 0).Order(StringComparer.Ordinal).ToList();
        return files[^1];
    }

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(30)]
    public void Torn_wal_tail_is_cut_with_a_warning_and_earlier_commits_are_kept(int tornBytes)
    {
        using (var db = Open()) Fill(db, 3, T0, T0 + 10 * Minute, Minute);
        var seg = LastSegment();
        using (var fs = new FileStream(seg, FileMode.Open)) fs.SetLength(fs.Length - tornBytes);
        using (var db = Open())
        {
            Assert.Contains(Warnings, w => w.Contains("torn or corrupt", StringComparison.Ordinal));
            Assert.Equal(1, db.Stats.WalRepairs);
            Assert.Equal(3 * 9, CountSamples(db)); // the last commit (one timestamp for 3 series) is lost
            Fill(db, 3, T0 + 10 * Minute, T0 + 12 * Minute, Minute);
        }
        Warnings.Clear();
        using (var db = Open())
        {
            Assert.Empty(Warnings);
            Assert.Equal(3 * 11, CountSamples(db));
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Garbage_after_the_last_wal_record_is_cut_and_the_records_before_kept(int seed)
    {
        using (var db = Open()) Fill(db, 3, T0, T0 + 10 * Minute, Minute);
        var garbage = new byte[new Random(seed).Next(1, 200)];
        new Random(seed).NextBytes(garbage);
        using (var fs = new FileStream(LastSegment(), FileMode.Append)) fs.Write(garbage);
        using var reopened = Open();
        Assert.Equal(3 * 10, CountSamples(reopened));
        Assert.Equal(1, reopened.Stats.WalRepairs);
    }

    [Fact]
    public void Corrupt_byte_in_the_last_wal_record_is_detected_by_checksum()
    {
        using (var db = Open()) Fill(db, 3, T0, T0 + 10 * Minute, Minute);
        var seg = LastSegment();
        var bytes = File.ReadAllBytes(seg);
        bytes[^3] ^= 0x40;
        File.WriteAllBytes(seg, bytes);
        using var reopened = Open();
        Assert.Contains(Warnings, w => w.Contains("checksum", StringComparison.Ordinal));
        Assert.Equal(3 * 9, CountSamples(reopened));
    }

    [Fact]
    public void Select_streams_every_sample_in_range_in_label_order_across_blocks_and_head()
    {
        using var db = Open();
        // Twelve series over 6 h at 15 s, cut into blocks along the way; one series only in what becomes a block, one
        // only in the head. Every sample's value is known, so each window's answer is computed independently.
        var expected = new SortedDictionary<Labels, List<Sample>>();
        void Add(Labels l, long t, double v)
        {
            if (!expected.TryGetValue(l, out var list)) expected[l] = list = [];
            list.Add(new Sample(t, v));
        }
        Fill(db, 12, T0, T0 + 4 * Hour, 15_000, (i, t) => i * 1000 + t / 15_000.0);
        var app = db.Appender();
        var early = Labels.Of("__name__", "early_only", "job", "x");
        var late = Labels.Of("__name__", "late_only", "job", "x");
        for (var t = T0; t < T0 + Hour; t += 60_000) app.Append(early, t, t / 1000.0);
        app.Commit();
        for (var t = T0 + 3 * Hour; t < T0 + 4 * Hour; t += 60_000) app.Append(late, t, -t / 1000.0);
        app.Commit();
        db.RunMaintenance();
        Fill(db, 12, T0 + 4 * Hour, T0 + 6 * Hour, 15_000, (i, t) => i * 1000 + t / 15_000.0);
        db.RunMaintenance();
        Assert.True(db.Blocks.Count >= 2, $"expected two blocks, got {db.Blocks.Count}");
        for (var i = 0; i < 12; i++)
            for (var t = T0; t < T0 + 6 * Hour; t += 15_000) Add(Series(i), t, i * 1000 + t / 15_000.0);
        for (var t = T0; t < T0 + Hour; t += 60_000) Add(early, t, t / 1000.0);
        for (var t = T0 + 3 * Hour; t < T0 + 4 * Hour; t += 60_000) Add(late, t, -t / 1000.0);

        (long, long)[] windows =
        [
            (T0, T0 + 6 * Hour), (T0 + 2 * Hour - 60_000, T0 + 2 * Hour + 60_000), (T0 + 5 * Hour, T0 + 6 * Hour),
            (T0 - Hour, T0 + 30_000), (T0 + 10 * Hour, T0 + 11 * Hour), (T0 + 15_000, T0 + 15_000),
        ];
        LabelMatcher[][] matchers = [[], [new(MatchOp.Equal, "job", "x")], [new(MatchOp.Regex, "__name__", "http.+")]];
        foreach (var (min, max) in windows)
        {
            foreach (var ms in matchers)
            {
                var want = expected
                    .Where(kv => ms.All(m => m.Matches(kv.Key.GetOrEmpty(m.Name))))
                    .Select(kv => (kv.Key, Samples: kv.Value.Where(x => x.T >= min && x.T <= max).ToArray()))
                    .Where(x => x.Samples.Length > 0)
                    .ToList();
                var got = new List<(Labels Labels, Sample[] Samples)>();
                db.SelectEach(min, max, ms, (l, samples) => got.Add((l, samples.ToArray())));
                Assert.Equal(want.Select(w => w.Key), got.Select(g => g.Labels));
                for (var i = 0; i < want.Count; i++) Assert.Equal(want[i].Samples, got[i].Samples);
                Assert.Equal(got.Select(g => g.Labels), db.Select(min, max, ms).Select(s => s.Labels));
            }
        }
    }

    [Fact]
    public void Closed_head_chunks_live_in_chunk_files_that_a_head_cut_deletes()
    {
        var dir = Path.Combine(Dir, "chunks_head");
        using (var db = Open())
        {
            // 1 h at 15 s is 240 samples per series: one closed chunk of 120 and an open one.
            Fill(db, 5, T0, T0 + Hour, 15_000);
            var files = Directory.GetFiles(dir);
            Assert.Single(files);
            Assert.Equal((T0 - T0 % (2 * Hour)).ToString(System.Globalization.CultureInfo.InvariantCulture), Path.GetFileName(files[0]));
            Assert.True(new FileInfo(files[0]).Length > 5 * 100, $"chunk file holds {new FileInfo(files[0]).Length} bytes");
            AssertSeriesContinuous(db, 5, T0, T0 + Hour, 15_000);
            Fill(db, 5, T0 + Hour, T0 + 4 * Hour, 15_000);
            Assert.Equal(2, Directory.GetFiles(dir).Length);
            db.RunMaintenance();
            Assert.Single(db.Blocks);
            // The first block range's file went with the cut; the later one still backs the head.
            Assert.Equal([(T0 + 2 * Hour).ToString(System.Globalization.CultureInfo.InvariantCulture)], Directory.GetFiles(dir).Select(Path.GetFileName));
            AssertSeriesContinuous(db, 5, T0, T0 + 4 * Hour, 15_000);
        }
        // Reopening starts the directory afresh and rebuilds the head (and its chunk files) from the WAL.
        File.WriteAllText(Path.Combine(dir, "stale"), "left by a crash");
        using (var db = Open())
        {
            Assert.DoesNotContain("stale", Directory.GetFiles(dir).Select(Path.GetFileName));
            Assert.NotEmpty(Directory.GetFiles(dir));
            AssertSeriesContinuous(db, 5, T0, T0 + 4 * Hour, 15_000);
        }
    }

    [Fact]
    public void A_query_reading_head_chunks_keeps_their_file_until_it_is_done_even_across_a_head_cut()
    {
        var dir = Path.Combine(Dir, "chunks_head");
        using var db = Open();
        Fill(db, 6, T0, T0 + 4 * Hour, 15_000);
        var firstRange = T0.ToString(System.Globalization.CultureInfo.InvariantCulture);
        Assert.Contains(firstRange, Directory.GetFiles(dir).Select(Path.GetFileName));
        var seen = new List<(Labels Labels, int Count, long First)>();
        db.SelectEach(T0, T0 + 4 * Hour, [new LabelMatcher(MatchOp.Equal, "job", "api")], (labels, samples) =>
        {
            seen.Add((labels, samples.Length, samples[0].T));
            // The cut runs while this query holds references into the first range's file: the file is retired, not deleted.
            if (seen.Count == 1)
            {
                db.RunMaintenance();
                Assert.Single(db.Blocks);
                Assert.Contains(firstRange, Directory.GetFiles(dir).Select(Path.GetFileName));
            }
        });
        Assert.Equal(6, seen.Count);
        Assert.All(seen, s => Assert.Equal((960, T0), (s.Count, s.First)));
        // The query is done: the retired file is gone, and queries now read the first range from the block.
        Assert.DoesNotContain(firstRange, Directory.GetFiles(dir).Select(Path.GetFileName));
        AssertSeriesContinuous(db, 6, T0, T0 + 4 * Hour, 15_000);
    }

    [Fact]
    public void When_chunk_files_cannot_be_written_closed_chunks_stay_in_memory_with_a_warning()
    {
        using var db = Open();
        Directory.Delete(Path.Combine(Dir, "chunks_head"), recursive: true);
        Fill(db, 3, T0, T0 + Hour, 15_000);
        AssertSeriesContinuous(db, 3, T0, T0 + Hour, 15_000);
        Assert.Contains(Warnings, w => w.Contains("keeping them in memory", StringComparison.Ordinal));
        Fill(db, 3, T0 + Hour, T0 + 4 * Hour, 15_000);
        db.RunMaintenance();
        Assert.Single(db.Blocks);
        AssertSeriesContinuous(db, 3, T0, T0 + 4 * Hour, 15_000);
    }

    [Fact]
    public void Head_is_cut_into_a_block_and_queries_merge_block_and_head()
    {
        const int n = 20;
        using (var db = Open())
        {
            Fill(db, n, T0, T0 + 3 * Hour, 15_000);
            db.RunMaintenance();
            Assert.Empty(db.Blocks); // exactly 3h minus one step: not more than 1.5 block durations
            Fill(db, n, T0 + 3 * Hour, T0 + 4 * Hour, 15_000);
            db.RunMaintenance();
            var block = Assert.Single(db.Blocks);
            Assert.Equal(T0, block.MinT);
            Assert.Equal(T0 + 2 * Hour, block.MaxT);
            Assert.Equal(n * 480, block.Stats.NumSamples);
            Assert.Equal(T0 + 2 * Hour, db.Stats.HeadMinValidTime);
            AssertSeriesContinuous(db, n, T0, T0 + 4 * Hour, 15_000);
            // A range across the boundary.
            Assert.Equal(n * 9, CountSamples(db, T0 + 2 * Hour - 60_000, T0 + 2 * Hour + 60_000));
            // The WAL was checkpointed: only head data remains in it.
            Assert.Equal(1, db.Stats.Checkpoints);
        }
        using (var db = Open())
        {
            Assert.Single(db.Blocks);
            AssertSeriesContinuous(db, n, T0, T0 + 4 * Hour, 15_000);
            Assert.Equal(n * 480 * 1L, db.Stats.WalReplayedSamples); // only the last 2h are replayed
        }
    }

    [Fact]
    public void Series_that_stop_reporting_leave_the_head_after_a_cut()
    {
        using var db = Open();
        var app = db.Appender();
        app.Append(Labels.Of("__name__", "gone"), T0, 1);
        app.Commit();
        Fill(db, 2, T0, T0 + 4 * Hour, Minute);
        Assert.Equal(3, db.Stats.HeadSeries);
        db.RunMaintenance();
        Assert.Equal(2, db.Stats.HeadSeries);
        Assert.Single(db.Select(T0, T0, [new LabelMatcher(MatchOp.Equal, "__name__", "gone")]));
        // It can come back.
        Assert.Equal(AppendResult.Ok, app.Append(Labels.Of("__name__", "gone"), T0 + 4 * Hour, 2));
        app.Commit();
        Assert.Equal(2, db.Select(long.MinValue, long.MaxValue, [new LabelMatcher(MatchOp.Equal, "__name__", "gone")]).Single().Samples.Count);
    }

    [Fact]
    public void Adjacent_blocks_are_compacted_into_larger_ones()
    {
        const int n = 5;
        var bd = TimeSpan.FromHours(1);
        using (var db = Open(blockDuration: bd))
        {
            // 10h of data with 1h blocks; maintenance each hour like the server would.
            for (var h = 0; h < 10; h++)
            {
                Fill(db, n, T0 + h * Hour, T0 + (h + 1) * Hour, Minute);
                db.RunMaintenance();
            }
            var blocks = db.Blocks;
            // 1h blocks become 3h blocks (level 2), three of those one 9h block (level 3) once 9h are persisted.
            Assert.Equal(4, db.Stats.Compactions);
            var big = Assert.Single(blocks);
            Assert.Equal((3, T0, T0 + 9 * Hour, 12), (big.Level, big.MinT, big.MaxT, big.Sources.Count));
            for (var i = 1; i < blocks.Count; i++) Assert.Equal(blocks[i - 1].MaxT, blocks[i].MinT);
            AssertSeriesContinuous(db, n, T0, T0 + 10 * Hour, Minute);
            Assert.Equal(blocks.Count, Directory.GetDirectories(Path.Combine(Dir, "blocks")).Length);
        }
        using (var db = Open(blockDuration: bd))
        {
            AssertSeriesContinuous(db, n, T0, T0 + 10 * Hour, Minute);
            Assert.Empty(Warnings);
        }
    }

    [Fact]
    public void Compacted_sources_left_by_a_crash_are_deleted_on_open()
    {
        var bd = TimeSpan.FromHours(1);
        string copied;
        using (var db = Open(blockDuration: bd))
        {
            Fill(db, 2, T0, T0 + 2 * Hour + 40 * Minute, Minute);
            db.RunMaintenance();
            var first = db.Blocks[0];
            copied = Path.Combine(Dir, "copy-" + first.Id);
            CopyDir(Path.Combine(Dir, "blocks", first.Id), copied);
            Fill(db, 2, T0 + 2 * Hour + 40 * Minute, T0 + 5 * Hour, Minute);
            db.RunMaintenance();
            Assert.Contains(db.Blocks, b => b.Level == 2 && b.Sources.Contains(first.Id));
            // Simulate a crash after the compacted block was written but before a source was deleted.
            CopyDir(copied, Path.Combine(Dir, "blocks", first.Id));
        }
        using (var db = Open(blockDuration: bd))
        {
            Assert.Contains(Warnings, w => w.Contains("already compacted", StringComparison.Ordinal));
            AssertSeriesContinuous(db, 2, T0, T0 + 5 * Hour, Minute);
        }
    }

    [Fact]
    public void A_corrupt_chunk_in_a_block_fails_the_query_instead_of_returning_wrong_data()
    {
        using (var db = Open())
        {
            Fill(db, 1, T0, T0 + 4 * Hour, Minute);
            db.RunMaintenance();
        }
        var chunks = Path.Combine(Directory.GetDirectories(Path.Combine(Dir, "blocks")).Single(), "chunks");
        var bytes = File.ReadAllBytes(chunks);
        bytes[^2] ^= 0x10;
        File.WriteAllBytes(chunks, bytes);
        using var reopened = Open();
        var e = Assert.Throws<InvalidDataException>(() => reopened.Select(T0, T0 + Hour, All));
        Assert.Contains("checksum", e.Message, StringComparison.Ordinal);
        Assert.Equal(60, CountSamples(reopened, T0 + 3 * Hour, T0 + 4 * Hour)); // head data still readable
    }

    private static void CopyDir(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(from)) File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
    }

    [Fact]
    public void Time_retention_deletes_blocks_older_than_the_retention()
    {
        using var db = Open(retention: TimeSpan.FromHours(6), blockDuration: TimeSpan.FromHours(1), compaction: []);
        Fill(db, 3, T0, T0 + 8 * Hour, 5 * Minute);
        Time.SetUtcNow(Epoch.AddHours(8));
        db.RunMaintenance();
        // Blocks [0,1h) .. [5h,6h) were cut; those ending at or before 8h-6h = 2h are gone.
        Assert.Equal(T0 + 2 * Hour, db.Blocks[0].MinT);
        Assert.Equal(2, db.Stats.RetentionDeletions);
        Assert.Equal(0, CountSamples(db, T0, T0 + 2 * Hour - 1));
        Assert.Equal(3 * 12, CountSamples(db, T0 + 2 * Hour, T0 + 3 * Hour - 1));
        Time.Advance(TimeSpan.FromHours(3));
        db.RunMaintenance();
        Assert.Equal(T0 + 5 * Hour, db.Blocks[0].MinT);
    }

    [Fact]
    public void Size_retention_deletes_the_oldest_blocks_until_under_the_limit()
    {
        long total;
        using (var db = Open(blockDuration: TimeSpan.FromHours(1), compaction: []))
        {
            Fill(db, 10, T0, T0 + 8 * Hour, Minute);
            db.RunMaintenance();
            Assert.Equal(7, db.Blocks.Count);
            total = db.Stats.BlockBytes;
        }
        // The limit covers blocks and the WAL together.
        long WalBytes() => Directory.GetFiles(Path.Combine(Dir, "wal")).Sum(f => new FileInfo(f).Length);
        var limit = total / 2 + WalBytes();
        using (var db = Open(maxBytes: limit, blockDuration: TimeSpan.FromHours(1), compaction: []))
        {
            db.RunMaintenance();
            Assert.True(db.Stats.BlockBytes + WalBytes() <= limit, $"{db.Stats.BlockBytes} + {WalBytes()} > {limit}");
            Assert.InRange(db.Blocks.Count, 1, 4);
            Assert.Equal(T0 + 7 * Hour, db.Blocks[^1].MaxT); // the newest block is kept
            Assert.Equal(0, CountSamples(db, T0, T0 + Hour - 1));
        }
    }

    [Fact]
    public async Task Concurrent_appends_queries_and_maintenance_lose_nothing()
    {
        using var db = Open(blockDuration: TimeSpan.FromHours(1));
        const int writers = 4, seriesPerWriter = 25, steps = 300;
        const long step = 60_000;
        using var stop = new CancellationTokenSource();
        var errors = new List<Exception>();
        var readers = Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
        {
            try
            {
                for (var i = 0; i < 300 && !stop.IsCancellationRequested; i++)
                {
                    foreach (var s in db.Select(long.MinValue, long.MaxValue, [new LabelMatcher(MatchOp.Regex, "job", "w.*")]))
                    {
                        for (var k = 1; k < s.Samples.Count; k++) Assert.True(s.Samples[k].T > s.Samples[k - 1].T);
                    }
                }
            }
            catch (Exception e)
            {
                lock (errors) errors.Add(e);
            }
        }, TestContext.Current.CancellationToken)).ToList();
        var tasks = Enumerable.Range(0, writers).Select(w => Task.Run(() =>
        {
            var app = db.Appender();
            for (var k = 0; k < steps; k++)
            {
                for (var i = 0; i < seriesPerWriter; i++)
                {
                    // A writer that falls behind the others may find its range already cut to a block.
                    var r = app.Append(Labels.Of("__name__", "m", "job", "w" + w, "i", i.ToString(System.Globalization.CultureInfo.InvariantCulture)), T0 + k * step, k);
                    Assert.True(r is AppendResult.Ok or AppendResult.TooOld, r.ToString());
                }
                app.Commit();
                // One writer also runs maintenance, as the server's timer would, concurrently with the others.
                if (w == 0 && k % 20 == 0) db.RunMaintenance();
            }
        }, TestContext.Current.CancellationToken)).ToArray();
        await Task.WhenAll(tasks);
        stop.Cancel();
        await Task.WhenAll(readers);
        Assert.Empty(errors);
        db.RunMaintenance();
        Assert.Equal(writers * seriesPerWriter * steps, db.Stats.SamplesAppended + db.Stats.TooOldRejected);
        Assert.Equal(db.Stats.SamplesAppended, CountSamples(db));
        Assert.NotEmpty(db.Blocks);
        Assert.True(db.Stats.HeadCuts >= 3, $"head cuts {db.Stats.HeadCuts}");
    }
    [Fact]
    public void A_series_handle_is_checked_like_labels_and_survives_the_series_leaving_the_head()
    {
        using var db = Open(blockDuration: TimeSpan.FromHours(1));
        var app = db.Appender();
        var r = default(SeriesRef);
        Assert.Equal(AppendResult.Ok, app.Append(ref r, Series(1), T0, 1));
        var issued = r;
        Assert.NotEqual(default, issued);
        Assert.Equal(AppendResult.Ok, app.Append(ref r, Series(1), T0 + 1000, 2));
        Assert.Equal(issued, r);
        Assert.Equal(AppendResult.OutOfOrder, app.Append(ref r, Series(1), T0 + 500, 3)); // within the batch
        Assert.Equal(AppendResult.Duplicate, app.Append(Series(1), T0 + 1000, 3)); // by labels: same series
        app.Commit();
        Assert.Equal(AppendResult.Duplicate, app.Append(ref r, Series(1), T0 + 1000, 3));
        app.Rollback();

        // Series 0 goes on for 2 h, series 1 stops: the head cut moves its only chunk to a block and drops it.
        Fill(db, 1, T0 + Minute, T0 + 2 * Hour, Minute);
        db.RunMaintenance();
        Assert.Equal(1, db.Stats.SeriesRemoved);
        Assert.Equal(AppendResult.Ok, app.Append(ref r, Series(1), T0 + 2 * Hour, 4));
        Assert.NotEqual(issued, r);
        app.Commit();
        Assert.Equal(2, db.Stats.HeadSeries);
        var s = db.Select(long.MinValue, long.MaxValue, [new LabelMatcher(MatchOp.Equal, "instance", "host-001")]).Single();
        Assert.Equal([new Sample(T0, 1), new Sample(T0 + 1000, 2), new Sample(T0 + 2 * Hour, 4)], s.Samples);
    }

    [Fact]
    public void A_handle_from_another_store_is_ignored_and_replaced()
    {
        using var db = Open();
        var foreign = new SeriesRef(new object(), Series(2));
        var app = db.Appender();
        Assert.Equal(AppendResult.Ok, app.Append(ref foreign, Series(1), T0, 1));
        Assert.NotEqual(Series(2), foreign.Handle);
        app.Commit();
        var s = Assert.Single(db.Select(long.MinValue, long.MaxValue, All));
        Assert.Equal(Series(1), s.Labels);
    }

    [Fact]
    public void A_series_appended_twice_in_a_batch_is_order_checked_against_the_batch()
    {
        using var db = Open();
        var app = db.Appender();
        for (var i = 0; i < 5; i++) Assert.Equal(AppendResult.Ok, app.Append(Series(i), T0, i));
        Assert.Equal(AppendResult.Ok, app.Append(Series(3), T0 + 2000, 1));
        Assert.Equal(AppendResult.OutOfOrder, app.Append(Series(3), T0 + 1000, 1));
        Assert.Equal(AppendResult.Duplicate, app.Append(Series(4), T0, 1));
        Assert.Equal(AppendResult.Ok, app.Append(Series(4), T0 + 1000, 1));
        Assert.Equal(AppendResult.Ok, app.Append(Series(5), T0, 1));
        Assert.Equal(AppendResult.Duplicate, app.Append(Series(5), T0, 1));
        app.Commit();
        // The next batch starts afresh.
        Assert.Equal(AppendResult.Ok, app.Append(Series(3), T0 + 3000, 1));
        Assert.Equal(AppendResult.OutOfOrder, app.Append(Series(4), T0 + 500, 1));
        app.Commit();
        Assert.Equal(9, db.Stats.SamplesAppended);
        Assert.Equal(2, db.Stats.DuplicateRejected);
        Assert.Equal(2, db.Stats.OutOfOrderRejected);
    }
}
