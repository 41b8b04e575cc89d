namespace Hubgate.Server.Api;

/// <summary>Configuration section <c>Hubgate</c>: how callers of the management API and the proxy authenticate.</summary>
public sealed class ApiKeyOptions
{
    public const string SectionName = "Hubgate";

    /// <summary><c>Hubgate:ApiKey</c>: the bearer key callers send. Unset: the API and the proxy answer 503.</summary>
    public string? ApiKey { get; set; }
}
