using Watchkeeper.Metrics.Model;
using Watchkeeper.Metrics.Tsdb;

namespace Watchkeeper.Metrics.Tests.TsdbTests;

public sealed class ChunkTests
{
    private static List<(long T, ulong Bits)> RoundTrip(IReadOnlyList<(long T, double V)> samples, out int bytes)
    {
        var w = new XorChunkWriter();
        foreach (var (t, v) in samples) w.Append(t, v);
        var data = w.ToArray();
        bytes = data.Length;
        var r = new XorChunkReader(data);
        Assert.Equal(samples.Count, r.Count);
        var res = new List<(long, ulong)>();
        while (r.Next(out var t, out var v)) res.Add((t, BitConverter.DoubleToUInt64Bits(v)));
        return res;
    }

    private static void AssertRoundTrip(IReadOnlyList<(long T, double V)> samples)
    {
        var got = RoundTrip(samples, out _);
        Assert.Equal(samples.Count, got.Count);
        for (var i = 0; i < samples.Count; i++)
        {
            Assert.Equal(samples[i].T, got[i].T);
            Assert.Equal(BitConverter.DoubleToUInt64Bits(samples[i].V), got[i].Bits);
        }
    }

    [Fact]
    public void A_writer_told_the_expected_sample_count_encodes_the_same_bytes_and_grows_to_about_the_final_size()
    {
        var rnd = new Random(5);
        var plain = new XorChunkWriter();
        var sized = new XorChunkWriter(expectedSamples: 120);
        var t = 1_767_225_600_000L;
        var v = 1000.0;
        var capacities = new HashSet<int>();
        for (var i = 0; i < 120; i++)
        {
            t += 1000 + rnd.Next(-3, 4);
            v += rnd.NextDouble() * 50; // a counter with noisy increments: ~7-9 bytes per sample
            plain.Append(t, v);
            sized.Append(t, v);
            capacities.Add(sized.Capacity);
        }
        Assert.Equal(plain.ToArray(), sized.ToArray());
        Assert.True(plain.Capacity > 600, $"plain capacity {plain.Capacity}");
        // The plain writer grew by half at a time (48, 72, 108, ...); the sized one jumped to its projection once or twice.
        Assert.True(capacities.Count <= 3, $"sized writer went through {capacities.Count} buffers: {string.Join(", ", capacities)}");
        Assert.InRange(sized.Capacity, sized.ByteLength, (int)(sized.ByteLength * 1.4));
    }

    [Theory]
    [InlineData(7)]
    [InlineData(99)]
    public void A_reset_writer_encodes_exactly_as_a_new_one(int seed)
    {
        // The head reuses a series' writer (and its buffer) for the next chunk: stale bits of a longer earlier chunk
        // must not leak into the next one.
        var rnd = new Random(seed);
        var reused = new XorChunkWriter();
        for (var round = 0; round < 4; round++)
        {
            var n = round % 2 == 0 ? 120 : 3;
            var t = rnd.NextInt64(0, 2_000_000_000_000);
            var fresh = new XorChunkWriter();
            for (var i = 0; i < n; i++)
            {
                t += rnd.Next(1, 30_000);
                var v = round == 3 ? 5.0 : BitConverter.Int64BitsToDouble(rnd.NextInt64());
                fresh.Append(t, v);
                reused.Append(t, v);
            }
            Assert.Equal(fresh.ToArray(), reused.ToArray());
            Assert.Equal(fresh.MinT, reused.MinT);
            Assert.Equal(fresh.MaxT, reused.MaxT);
            Assert.Equal(n, reused.Count);
            reused.Reset();
            Assert.Equal(0, reused.Count);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(42)]
    [InlineData(1234)]
    public void Random_values_and_irregular_timestamps_round_trip_bit_exactly(int seed)
    {
        var rnd = new Random(seed);
        double[] specials = [double.NaN, StaleNaN.Value, double.PositiveInfinity, double.NegativeInfinity, 0.0, -0.0, double.Epsilon, double.MaxValue, double.MinValue, BitConverter.UInt64BitsToDouble(0x7ff8000000000123)];
        var samples = new List<(long, double)>();
        var t = rnd.NextInt64(-1_000_000_000, 2_000_000_000_000);
        var v = 0.0;
        for (var i = 0; i < 120; i++)
        {
            t += rnd.Next(8) switch
            {
                0 => 1,
                1 => rnd.Next(1, 200),
                2 => rnd.Next(1, 20_000),
                3 => rnd.Next(1, 1_000_000),
                4 => rnd.NextInt64(1, 1L << 40),
                _ => 15_000 + rnd.Next(-5, 6),
            };
            v = rnd.Next(6) switch
            {
                0 => specials[rnd.Next(specials.Length)],
                1 => rnd.NextDouble() * 1e6,
                2 => BitConverter.Int64BitsToDouble(rnd.NextInt64()),
                3 => v,
                4 => Math.Round(v + rnd.Next(100)),
                _ => -rnd.NextDouble(),
            };
            samples.Add((t, v));
        }
        AssertRoundTrip(samples);
        for (var n = 1; n < 5; n++) AssertRoundTrip(samples.GetRange(0, n));
    }

    [Fact]
    public void Stale_marker_after_regular_values_keeps_its_bit_pattern()
    {
        AssertRoundTrip([(1000, 1.5), (2000, StaleNaN.Value), (3000, 1.5), (4000, StaleNaN.Value), (5000, double.NaN)]);
        var got = RoundTrip([(1000, 1.5), (2000, StaleNaN.Value)], out _);
        Assert.Equal(StaleNaN.Bits, got[1].Bits);
    }

    [Fact]
    public void Regular_counter_compresses_below_two_bytes_per_sample()
    {
        var samples = new List<(long, double)>();
        long t = 1_700_000_000_000;
        double v = 1000;
        var rnd = new Random(7);
        for (var i = 0; i < 120; i++)
        {
            samples.Add((t, v));
            t += 15_000;
            v += rnd.Next(0, 50);
        }
        RoundTrip(samples, out var bytes);
        Assert.True(bytes / 120.0 < 2.0, $"{bytes / 120.0} bytes/sample");
    }

    [Fact]
    public void Extreme_timestamp_jumps_round_trip()
    {
        AssertRoundTrip([(long.MinValue / 4, 1), (0, 2), (long.MaxValue / 4, 3), (long.MaxValue / 4 + 1, 4), (long.MaxValue / 2, 5)]);
    }

    [Fact]
    public void Crc32c_matches_the_standard_check_value()
    {
        Assert.Equal(0xE3069283u, Crc32C.Compute("123456789"u8));
        Assert.Equal(Crc32C.Compute("123456789"u8), Crc32C.Append(Crc32C.Compute("1234"u8), "56789"u8));
    }
}
