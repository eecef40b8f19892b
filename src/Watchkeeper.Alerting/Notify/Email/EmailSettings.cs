namespace Watchkeeper.Alerting.Notify.Email;

/// <summary>One <c>email_configs</c> entry: mail over SMTP (MailKit), STARTTLS unless <c>require_tls: false</c>.</summary>
public sealed class EmailSettings : IntegrationSettings
{
    public override bool SendResolved { get; set; }
    public override string Kind => "email";
    public string To { get; set; } = "";
    public string From { get; set; } = "";
    /// <summary>host:port of the SMTP server.</summary>
    public string Smarthost { get; set; } = "";
    public string Hello { get; set; } = "localhost";
    public string AuthUsername { get; set; } = "";
    public string AuthPassword { get; set; } = "";
    public string AuthIdentity { get; set; } = "";
    public bool RequireTls { get; set; } = true;
    /// <summary>Headers; values are templates. Subject, To and From default from the fields above.</summary>
    public Dictionary<string, string> Headers { get; set; } = [];
    public string Html { get; set; } = """{{ template "email.default.html" . }}""";
    public string Text { get; set; } = """{{ template "email.default.text" . }}""";
    /// <summary>Server certificate checks; false only for test servers.</summary>
    public bool TlsInsecureSkipVerify { get; set; }

    public override string? Unconfigured =>
        string.IsNullOrWhiteSpace(Smarthost) ? "smarthost is not set"
        : string.IsNullOrWhiteSpace(To) ? "to is not set"
        : string.IsNullOrWhiteSpace(From) ? "from is not set"
        : null;
}
