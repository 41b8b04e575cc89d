using Microsoft.Extensions.Options;

namespace Hubgate.Server.Setup;

/// <summary><c>Hubgate:PublicUrl</c>: the address GitHub and browsers reach this service at (webhook, callback and setup URLs).</summary>
public sealed class SetupOptions
{
    public const string SectionName = "Hubgate";

    /// <summary><c>Hubgate:PublicUrl</c>, e.g. <c>https://hubgate.example.com/</c> (needed to create Apps from a manifest).</summary>
    public Uri? PublicUrl { get; set; }

    /// <summary><see cref="PublicUrl"/> ending with '/', so that paths resolve beneath it.</summary>
    public Uri? NormalizedPublicUrl => PublicUrl is null ? null
        : PublicUrl.AbsoluteUri.EndsWith('/') ? PublicUrl : new Uri(PublicUrl.AbsoluteUri + "/");
}

/// <summary>Checks <c>Hubgate:PublicUrl</c> at start-up.</summary>
internal sealed class SetupOptionsValidator : IValidateOptions<SetupOptions>
{
    public ValidateOptionsResult Validate(string? name, SetupOptions options) =>
        options.PublicUrl is { } url && (!url.IsAbsoluteUri || url.Scheme is not ("https" or "http") || !string.IsNullOrEmpty(url.Query))
            ? ValidateOptionsResult.Fail($"Hubgate:PublicUrl: '{url}' is not an absolute http(s) URL without a query (e.g. https://hubgate.example.com/).")
            : ValidateOptionsResult.Success;
}
