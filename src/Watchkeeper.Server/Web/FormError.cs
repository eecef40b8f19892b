using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Web;

/// <summary>
/// A domain error shown on a page, with the posted form so it can be shown again with the values kept. A form
/// checked as a whole carries every field's problem in <see cref="Fields"/> (field name to message), so all of them
/// are marked at once.
/// </summary>
public sealed record FormError(string Message, string? Field, string Form, IFormCollection? Values, IReadOnlyDictionary<string, string>? Fields = null)
{
    public static FormError From(Exception ex, string form, IFormCollection? values) =>
        ex is FormErrors all ? FromAll(all.Errors, form, values) : new(Html.ErrorMessage(ex), ex is ValidationException v ? v.Field : null, form, values);

    /// <summary>Every problem of a form at once: the message lists them, each field is marked with its own.</summary>
    public static FormError FromAll(IReadOnlyList<ValidationException> errors, string form, IFormCollection? values)
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var e in errors)
        {
            var key = e.Field;
            var bracket = key.IndexOf('[', StringComparison.Ordinal);
            if (bracket > 0) key = key[..bracket];
            fields.TryAdd(key, Html.ErrorMessage(e));
        }
        var message = errors.Count == 1
            ? Html.ErrorMessage(errors[0])
            : $"{errors.Count} fields need attention: " + string.Join(" · ", errors.Select(Html.ErrorMessage));
        return new(message, errors[0].Field, form, values, fields);
    }

    /// <summary>The posted value of a field of this form, or the fallback when another form was posted.</summary>
    public string? Value(string form, string name, string? fallback) =>
        form == Form && Values is not null && Values.TryGetValue(name, out var v) ? v.ToString() : fallback;

    /// <summary>Every posted value of a field (checkboxes), or the fallback when another form was posted.</summary>
    public IReadOnlyList<string> AllValues(string form, string name, IReadOnlyList<string> fallback) =>
        form == Form && Values is not null ? Values[name].Where(x => !string.IsNullOrEmpty(x)).Select(x => x!).ToList() : fallback;

    /// <summary>"true" for the <c>aria-invalid</c> attribute of the field the error names; null (no attribute) otherwise.</summary>
    public string? Invalid(string form, string field) =>
        form != Form ? null
        : Fields is not null ? (Fields.ContainsKey(field) ? "true" : null)
        : Field is not null && (Field == field || Field.StartsWith(field + "[", StringComparison.Ordinal)) ? "true" : null;

    /// <summary>The message for one field of this form (its own when the form was checked as a whole).</summary>
    public string? MessageFor(string form, string field) =>
        Invalid(form, field) is null ? null : Fields is not null && Fields.TryGetValue(field, out var m) ? m : Message;
}

/// <summary>Every problem of a posted form at once: a 400 whose problem details list each field (as validation problems do).</summary>
public sealed class FormErrors(IReadOnlyList<ValidationException> errors)
    : ProblemException(400, "Invalid request", string.Join("; ", errors.Select(e => e.Message)))
{
    public IReadOnlyList<ValidationException> Errors { get; } = errors;

    public override Microsoft.AspNetCore.Mvc.ProblemDetails ToProblem() =>
        new HttpValidationProblemDetails(Errors.GroupBy(e => e.Field).ToDictionary(g => g.Key, g => g.Select(e => e.Problem).ToArray()))
        {
            Status = 400,
            Title = "Invalid request",
            Detail = Message,
            Type = "https://watchkeeper.dev/problems/validation",
        };
}
