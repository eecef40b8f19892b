using Watchkeeper.Metrics.Rules;

namespace Watchkeeper.Metrics.Templates;

/// <summary>
/// The rules' <see cref="IRuleTemplateEngine"/> on this engine: Prometheus's functions, missingkey=zero, parse once per
/// distinct text, and Prometheus's error texts (<c>error executing template NAME: template: NAME:1:115: ...</c>).
/// </summary>
public sealed class PrometheusRuleTemplateEngine(TemplateLimits? limits = null) : IRuleTemplateEngine
{
    public static PrometheusRuleTemplateEngine Instance { get; } = new();

    public string? Check(string name, string text)
    {
        TemplateCache.GetOrParse(PrometheusTemplates.Functions, TemplateOptions.Default, name, text, out var error);
        return error;
    }

    public string Expand(string name, string text, RuleTemplateData data, CancellationToken cancellationToken)
    {
        var tdata = new AlertTemplateData(ToMap(data.Labels), ToMap(data.ExternalLabels), data.ExternalUrl, data.Value);
        TemplateQueryFunc? query = null;
        if (data.Query is { } q)
        {
            query = (expr, _, ct) =>
            {
                var result = q(expr, ct);
                var samples = new List<QuerySample>(result.Count);
                foreach (var s in result)
                {
                    var labels = new Dictionary<string, string>(s.Labels.Count, StringComparer.Ordinal);
                    foreach (var l in s.Labels) labels[l.Name] = l.Value;
                    samples.Add(new QuerySample(labels, s.V));
                }
                return samples;
            };
        }
        var env = new PrometheusTemplateEnvironment(DateTimeOffset.FromUnixTimeMilliseconds(data.TimeMs), data.ExternalUrl, query)
        {
            CancellationToken = cancellationToken,
        };
        if (PrometheusTemplates.TryExpand(name, text, tdata, env, out var result2, out var error, limits)) return result2;
        throw new RuleTemplateException(error!);
    }

    private static Dictionary<string, string> ToMap(IReadOnlyList<KeyValuePair<string, string>> pairs)
    {
        var d = new Dictionary<string, string>(pairs.Count, StringComparer.Ordinal);
        foreach (var (k, v) in pairs) d[k] = v;
        return d;
    }
}
