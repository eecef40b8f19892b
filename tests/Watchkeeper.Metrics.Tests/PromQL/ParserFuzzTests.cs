using System.Diagnostics;
using Watchkeeper.Metrics.PromQL;

namespace Watchkeeper.Metrics.Tests.PromQL;

public sealed class ParserFuzzTests
{
    private static readonly string[] Corpus =
    [
        "sum by (job) (rate(http_requests_total{job=~\"api|web\", code!=\"500\"}[5m]))",
        "histogram_quantile(0.99, sum(rate(latency_bucket[5m])) by (le))",
        "a * on(job) group_left(team) b unless c or d and e",
        "max_over_time(deriv(x[5m])[30m:1m] offset -1h @ start())",
        "topk(3, count_values(\"v\", x)) > bool 2 ^ 3 ^ 4",
        "label_replace(up, \"dst\", \"$1-${2}\", \"instance\", \"(.*):(\\\\d+)\")",
        "-{__name__=~\"foo.*\", \"quoted\"=\"x\"} % 0x1F + Inf - nan * 1e-3",
        "absent_over_time(nonexistent{job=\"x\"}[1h30m]) @ 1700000000.5",
        "quantile without (instance) (0.9, x) / ignoring(a, b) y",
        "'single' + `raw` + \"dq\\n\"",
    ];

    private const string Alphabet = "(){}[],:=!~<>+-*/%^@\"'`\\ .0123456789abcxyz_eEinfINFNaonbysumrt#\n\t";

    [Fact]
    public void Mutated_queries_only_ever_raise_parse_exceptions_and_never_hang()
    {
        var rng = new Random(20261129);
        const int iterations = 20_000;
        var perParseLimit = TimeSpan.FromSeconds(2);
        string? current = null;
        long startedTicks = 0;
        Exception? unexpected = null;
        var done = false;

        var worker = new Thread(() =>
        {
            try
            {
                for (var i = 0; i < iterations; i++)
                {
                    var q = Mutate(Corpus[rng.Next(Corpus.Length)], rng);
                    Volatile.Write(ref current, q);
                    Volatile.Write(ref startedTicks, Stopwatch.GetTimestamp());
                    try { Parser.Parse(q); }
                    catch (ParseException) { }
                }
            }
            catch (Exception ex) { unexpected = new InvalidOperationException("unexpected exception for: " + current, ex); }
            finally { Volatile.Write(ref done, true); }
        }, 16 * 1024 * 1024) { IsBackground = true };
        worker.Start();

        while (!Volatile.Read(ref done))
        {
            Thread.Sleep(50);
            var started = Volatile.Read(ref startedTicks);
            if (started != 0 && Stopwatch.GetElapsedTime(started) > perParseLimit && !Volatile.Read(ref done))
                Assert.Fail($"parse did not finish within {perParseLimit}: {Volatile.Read(ref current)}");
        }
        if (unexpected is not null) throw unexpected;
    }

    private static string Mutate(string s, Random rng)
    {
        var chars = new List<char>(s);
        var edits = rng.Next(1, 6);
        for (var k = 0; k < edits; k++)
        {
            var pos = chars.Count == 0 ? 0 : rng.Next(chars.Count);
            switch (rng.Next(5))
            {
                case 0 when chars.Count > 0: chars.RemoveAt(pos); break;
                case 1: chars.Insert(pos, Alphabet[rng.Next(Alphabet.Length)]); break;
                case 2 when chars.Count > 0: chars[pos] = Alphabet[rng.Next(Alphabet.Length)]; break;
                case 3 when chars.Count > 1:
                    {
                        // Duplicate a slice (grows nesting and operator chains).
                        var len = rng.Next(1, Math.Min(20, chars.Count - pos) + 1);
                        chars.InsertRange(pos, chars.GetRange(pos, len));
                        break;
                    }
                default:
                    chars.Insert(pos, (char)rng.Next(0, 0x3000));
                    break;
            }
        }
        return new string([.. chars]);
    }
}
