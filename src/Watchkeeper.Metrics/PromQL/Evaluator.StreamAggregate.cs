using Watchkeeper.Metrics.Model;

namespace Watchkeeper.Metrics.PromQL;

/// <summary>
/// Aggregations fused with a streamed range function: <c>sum by (job) (rate(m[5m]))</c> and the like. While the
/// function's series are streamed (see <see cref="Stream"/>), each series' value at each step goes straight into its
/// group's accumulator for that step instead of into a per-step vector the aggregation would read again. A series'
/// group is found once per query, not once per step, and no per-step element lists are built. The result is the same
/// as evaluating the aggregation over the function's vector at each step: within a group and step, values are added
/// in the same order (the store's series order), with the same compensated sums and the same NaN rules, and the
/// groups of a step come out in order of their first member at that step.
/// </summary>
internal sealed partial class Evaluator
{
    /// <summary>Aggregations computed while streaming their argument, by aggregation node.</summary>
    private readonly Dictionary<AggregateExpr, StreamedCall> _fused = new(ReferenceEqualityComparer.Instance);

    /// <summary>The streamable call an aggregation can be fused with (no parameter, a float-only operator), else null.</summary>
    private Call? FusableCall(AggregateExpr a)
    {
        if (_subqueryDepth != 0 || a.Param is not null) return null;
        if (a.Op is not (AggregateOp.Sum or AggregateOp.Avg or AggregateOp.Count or AggregateOp.Group or AggregateOp.Min or AggregateOp.Max)) return null;
        var inner = a.Expr;
        while (inner is ParenExpr p) inner = p.Inner;
        return inner is Call call && StreamableSelector(call) is not null ? call : null;
    }

    /// <summary>Per group and step accumulators of a fused aggregation.</summary>
    private sealed class FusedGroups(AggregateExpr expr, int steps)
    {
        public readonly AggregateExpr Expr = expr;
        public readonly Dictionary<Labels, int> Index = [];
        public readonly List<Labels> Keys = [];
        public readonly List<double[]> Value = [];
        public readonly List<double[]> C = [];
        public readonly List<int[]> Count = [];
        public readonly List<MathUtil.MeanAccumulator[]> Mean = [];
        /// <summary>Per step, the groups in order of their first member at that step.</summary>
        public readonly List<int>?[] Order = new List<int>?[steps];
        /// <summary>Per step, how many series values went in (the size of the vector that was not built).</summary>
        public readonly long[] Inputs = new long[steps];

        public int Group(Labels key, int steps)
        {
            if (Index.TryGetValue(key, out var g)) return g;
            g = Keys.Count;
            Index[key] = g;
            Keys.Add(key);
            Value.Add(new double[steps]);
            Count.Add(new int[steps]);
            if (Expr.Op == AggregateOp.Sum) C.Add(new double[steps]);
            if (Expr.Op == AggregateOp.Avg) Mean.Add(new MathUtil.MeanAccumulator[steps]);
            return g;
        }

        /// <summary>
        /// Adds one series' value at step <paramref name="k"/> to group <paramref name="g"/>, as EvalAggregate adds a
        /// vector element. <paramref name="acc"/> holds the group's arrays (fetched once per series).
        /// </summary>
        public void Add(in GroupArrays acc, int g, int k, double v)
        {
            ref var count = ref acc.Count[k];
            Inputs[k]++;
            var values = acc.Value;
            if (count == 0)
            {
                count = 1;
                values[k] = v;
                if (acc.Mean is not null) acc.Mean[k].Add(v);
                (Order[k] ??= []).Add(g);
                return;
            }
            count++;
            switch (Expr.Op)
            {
                case AggregateOp.Sum: (values[k], acc.C![k]) = MathUtil.KahanInc(v, values[k], acc.C![k]); break;
                case AggregateOp.Avg: acc.Mean![k].Add(v); break;
                case AggregateOp.Max: if (values[k] < v || double.IsNaN(values[k])) values[k] = v; break;
                case AggregateOp.Min: if (values[k] > v || double.IsNaN(values[k])) values[k] = v; break;
            }
        }

        public GroupArrays Arrays(int g) => new(Value[g], Count[g], Expr.Op == AggregateOp.Sum ? C[g] : null, Expr.Op == AggregateOp.Avg ? Mean[g] : null);
    }

    /// <summary>One group's per-step accumulators.</summary>
    private readonly record struct GroupArrays(double[] Value, int[] Count, double[]? C, MathUtil.MeanAccumulator[]? Mean);

    /// <summary>The fused aggregation's result at step <paramref name="t"/>.</summary>
    private Val FusedValue(StreamedCall sc, long t)
    {
        var k = StepIndex(t);
        var fg = sc.Fused!;
        AddSamples(sc.Samples[k]);
        AddSamples(fg.Inputs[k]);
        var order = fg.Order[k];
        var res = new List<Elem>(order?.Count ?? 0);
        if (order is not null)
        {
            var op = fg.Expr.Op;
            foreach (var g in order)
            {
                var key = fg.Keys[g];
                var v = op switch
                {
                    AggregateOp.Sum => fg.Value[g][k] + fg.C[g][k],
                    AggregateOp.Avg => fg.Mean[g][k].Result,
                    AggregateOp.Count => fg.Count[g][k],
                    AggregateOp.Group => 1,
                    _ => fg.Value[g][k],
                };
                res.Add(new Elem(key, v, sc.DropsName && key.Name is not null));
            }
        }
        AddSamples(res.Count);
        return Val.OfVector(res);
    }
}
