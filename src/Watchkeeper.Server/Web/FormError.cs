using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Web;

/// <summary>A domain error shown on a page, with the posted form so it can be shown again with the values kept.</summary>
public sealed record FormError(string Message, string? Field, string Form, IFormCollection? Values)
{
    public static FormError From(Exception ex, string form, IFormCollection? values) =>
        new(Html.ErrorMessage(ex), ex is ValidationException v ? v.Field : null, form, values);

    /// <summary>The posted value of a field of this form, or the fallback when another form was posted.</summary>
    public string? Value(string form, string name, string? fallback) =>
        form == Form && Values is not null && Values.TryGetValue(name, out var v) ? v.ToString() : fallback;

    /// <summary>"true" for the <c>aria-invalid</c> attribute of the field the error names; null (no attribute) otherwise.</summary>
    public string? Invalid(string form, string field) =>
        form == Form && Field is not null && (Field == field || Field.StartsWith(field + "[", StringComparison.Ordinal)) ? "true" : null;
}
