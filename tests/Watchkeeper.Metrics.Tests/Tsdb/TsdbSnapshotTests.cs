using Watchkeeper.Metrics.Model;

namespace Watchkeeper.Metrics.Tests.TsdbTests;

public sealed class TsdbSnapshotTests : TsdbTestBase
{
    [Fact]
    public void Snapshot_holds_blocks_and_head_as_of_the_call_and_opens_as_a_database()
    {
        var snapshot = Path.Combine(Dir, "..", Path.GetFileName(Dir) + "-snap");
        try
        {
            long before;
            using (var db = Open(blockDuration: TimeSpan.FromHours(1)))
            {
                before = Fill(db, 3, T0, T0 + 4 * Hour, Minute);
                db.RunMaintenance();
                Assert.NotEmpty(db.Blocks);
                var r = db.Snapshot(snapshot, TestContext.Current.CancellationToken);
                Assert.Equal(db.Blocks.Count, r.Blocks);
                Assert.True(r.WalFiles >= 1);
                Assert.Equal(T0 + 4 * Hour - Minute, r.HeadMaxT);
                // Committed after the snapshot: not in it.
                Fill(db, 3, T0 + 4 * Hour, T0 + 5 * Hour, Minute);
                Assert.Equal(before + 3 * 60, CountSamples(db));
                Assert.Throws<IOException>(() => db.Snapshot(snapshot, TestContext.Current.CancellationToken));
            }

            using var copy = Tsdb.Tsdb.Open(new Tsdb.TsdbOptions
            {
                Directory = snapshot, BlockDuration = TimeSpan.FromHours(1), TimeProvider = Time, FutureGracePeriod = TimeSpan.FromDays(3650),
            });
            Assert.Equal(before, CountSamples(copy));
            Assert.NotEmpty(copy.Blocks);
            AssertSeriesContinuous(copy, 3, T0, T0 + 4 * Hour, Minute);
            Assert.Empty(Warnings);
        }
        finally
        {
            if (Directory.Exists(snapshot)) Directory.Delete(snapshot, recursive: true);
        }
    }

    [Fact]
    public void Snapshot_of_a_database_with_only_a_head_replays_every_committed_sample()
    {
        var snapshot = Path.Combine(Dir, "..", Path.GetFileName(Dir) + "-snap");
        try
        {
            long n;
            using (var db = Open())
            {
                n = Fill(db, 2, T0, T0 + 10 * Minute, 15_000);
                var app = db.Appender();
                app.Append(Series(9), T0, 1); // never committed
                var r = db.Snapshot(snapshot, TestContext.Current.CancellationToken);
                app.Rollback();
                Assert.Equal(0, r.Blocks);
            }
            using var copy = Tsdb.Tsdb.Open(new Tsdb.TsdbOptions { Directory = snapshot, TimeProvider = Time, FutureGracePeriod = TimeSpan.FromDays(3650) });
            Assert.Equal(n, CountSamples(copy));
            Assert.Empty(copy.Select(long.MinValue, long.MaxValue, [new LabelMatcher(MatchOp.Equal, "instance", "host-009")]));
        }
        finally
        {
            if (Directory.Exists(snapshot)) Directory.Delete(snapshot, recursive: true);
        }
    }
}
