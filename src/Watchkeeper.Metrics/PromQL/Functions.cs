namespace Watchkeeper.Metrics.PromQL;

/// <summary>Signature of a PromQL function: argument types, how many are optional, return type.</summary>
public sealed record FunctionInfo(string Name, ValueKind[] ArgTypes, int OptionalArgs, ValueKind ReturnType, bool Variadic = false)
{
    /// <summary>Functions whose result depends on the evaluation time even with constant arguments.</summary>
    public bool DependsOnTime => Name is "time" or "predict_linear" or "days_in_month" or "day_of_month" or "day_of_week" or "day_of_year" or "hour" or "minute" or "month" or "year";

    public static bool TryGet(string name, out FunctionInfo info) => Table.TryGetValue(name, out info!);

    public static IReadOnlyCollection<string> Names => Table.Keys;

    private static readonly Dictionary<string, FunctionInfo> Table = Build();

    private static Dictionary<string, FunctionInfo> Build()
    {
        const ValueKind S = ValueKind.Scalar, V = ValueKind.Vector, M = ValueKind.Matrix, Str = ValueKind.String;
        var d = new Dictionary<string, FunctionInfo>(StringComparer.Ordinal);
        void Add(string name, ValueKind ret, int optional, params ValueKind[] args) => d[name] = new FunctionInfo(name, args, optional, ret);
        void AddVariadic(string name, ValueKind ret, int minArgs, params ValueKind[] args) => d[name] = new FunctionInfo(name, args, args.Length - minArgs, ret, true);

        foreach (var f in new[] { "abs", "ceil", "floor", "exp", "sqrt", "ln", "log2", "log10", "sgn",
                     "acos", "acosh", "asin", "asinh", "atan", "atanh", "cos", "cosh", "sin", "sinh", "tan", "tanh", "deg", "rad",
                     "sort", "sort_desc", "absent", "histogram_count", "histogram_sum", "histogram_avg", "histogram_stddev", "histogram_stdvar" })
            Add(f, V, 0, V);
        foreach (var f in new[] { "rate", "increase", "delta", "irate", "idelta", "deriv", "changes", "resets",
                     "avg_over_time", "min_over_time", "max_over_time", "sum_over_time", "count_over_time", "stddev_over_time",
                     "stdvar_over_time", "last_over_time", "first_over_time", "present_over_time", "absent_over_time", "mad_over_time",
                     "ts_of_min_over_time", "ts_of_max_over_time", "ts_of_last_over_time", "ts_of_first_over_time" })
            Add(f, V, 0, M);
        foreach (var f in new[] { "day_of_month", "day_of_week", "day_of_year", "days_in_month", "hour", "minute", "month", "year" })
            Add(f, V, 1, V);
        Add("clamp", V, 0, V, S, S);
        Add("clamp_max", V, 0, V, S);
        Add("clamp_min", V, 0, V, S);
        Add("round", V, 1, V, S);
        Add("scalar", S, 0, V);
        Add("vector", V, 0, S);
        Add("time", S, 0);
        Add("pi", S, 0);
        Add("step", S, 0);
        Add("range", S, 0);
        Add("start", S, 0);
        Add("end", S, 0);
        Add("min_of", S, 0, S, S);
        Add("max_of", S, 0, S, S);
        AddVariadic("histogram_quantiles", V, 3, V, Str, S);
        Add("timestamp", V, 0, V);
        Add("info", V, 1, V, V);
        Add("predict_linear", V, 0, M, S);
        Add("quantile_over_time", V, 0, S, M);
        Add("holt_winters", V, 0, M, S, S);
        Add("double_exponential_smoothing", V, 0, M, S, S);
        Add("histogram_quantile", V, 0, S, V);
        Add("histogram_fraction", V, 0, S, S, V);
        Add("label_replace", V, 0, V, Str, Str, Str, Str);
        AddVariadic("label_join", V, 3, V, Str, Str, Str);
        AddVariadic("sort_by_label", V, 1, V, Str);
        AddVariadic("sort_by_label_desc", V, 1, V, Str);
        return d;
    }
}
