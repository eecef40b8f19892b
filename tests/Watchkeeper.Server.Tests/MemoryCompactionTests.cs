using Microsoft.Extensions.Logging.Abstractions;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Tests;

public sealed class MemoryCompactionTests
{
    private const long MiB = 1L << 20;

    private sealed class FakeHeap
    {
        public long Committed;
        public long Live;
        public int Collections;

        public MemoryCompaction Policy() => new(() => Committed, () => { Collections++; Committed = Live; }, NullLogger.Instance);
    }

    [Fact]
    public void The_first_check_after_start_up_returns_the_start_up_garbage()
    {
        var heap = new FakeHeap { Committed = 320 * MiB, Live = 170 * MiB };
        var policy = heap.Policy();
        Assert.True(policy.Check());
        Assert.Equal(1, heap.Collections);
        Assert.Equal(1, policy.Compactions);
        Assert.False(policy.Check()); // nothing grew since
        Assert.Equal(1, heap.Collections);
    }

    [Fact]
    public void A_small_heap_is_left_alone_and_becomes_the_baseline()
    {
        var heap = new FakeHeap { Committed = 40 * MiB, Live = 30 * MiB };
        var policy = heap.Policy();
        Assert.False(policy.Check());
        heap.Committed = 71 * MiB; // grew 31 MiB: under the 32 MiB floor
        Assert.False(policy.Check());
        heap.Committed = 73 * MiB;
        heap.Live = 50 * MiB;
        Assert.True(policy.Check());
        Assert.Equal(1, heap.Collections);
    }

    [Fact]
    public void Later_checks_compact_only_after_a_quarter_of_growth_and_measure_from_the_compacted_size()
    {
        var heap = new FakeHeap { Committed = 400 * MiB, Live = 200 * MiB };
        var policy = heap.Policy();
        Assert.True(policy.Check()); // baseline now 200 MiB
        heap.Committed = 249 * MiB;
        Assert.False(policy.Check()); // +49 MiB < a quarter of 200
        heap.Committed = 250 * MiB;
        heap.Live = 240 * MiB; // the series count grew: most of it is live
        Assert.True(policy.Check());
        heap.Committed = 290 * MiB;
        Assert.False(policy.Check()); // +50 MiB < a quarter of the new 240 MiB baseline
        Assert.Equal(2, heap.Collections);
        Assert.Equal(2, policy.Compactions);
    }
}
