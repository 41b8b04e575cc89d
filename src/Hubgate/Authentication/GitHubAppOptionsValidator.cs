using Microsoft.Extensions.Options;

namespace Hubgate.Authentication;

/// <summary>Start-up validation of <see cref="GitHubAppOptions"/>, with messages that name the key.</summary>
internal sealed class GitHubAppOptionsValidator : IValidateOptions<GitHubAppOptions>
{
    public ValidateOptionsResult Validate(string? name, GitHubAppOptions options) => Check(options);

    /// <summary>Checks one App's settings; messages name its keys (<c>GitHub:…</c> or <c>GitHub:Apps:{name}:…</c>).</summary>
    internal static ValidateOptionsResult Check(GitHubAppOptions options)
    {
        var failures = new List<string>();
        var prefix = options.ConfigurationPrefix;
        var baseUrl = options.ApiBaseUrl;
        if (baseUrl is null || !baseUrl.IsAbsoluteUri || (baseUrl.Scheme != Uri.UriSchemeHttps && baseUrl.Scheme != Uri.UriSchemeHttp)
            || !string.IsNullOrEmpty(baseUrl.Query) || !string.IsNullOrEmpty(baseUrl.Fragment))
        {
            failures.Add($"{prefix}:ApiBaseUrl must be an absolute http(s) URL without query, like https://api.github.com/ or https://ghe.example.com/api/v3/ (got '{baseUrl}').");
        }

        if (options.TokenRefreshAhead < TimeSpan.Zero || options.TokenRefreshAhead >= TimeSpan.FromMinutes(55))
        {
            failures.Add($"{prefix}:TokenRefreshAhead must be between 00:00:00 and 00:55:00 (installation tokens live one hour).");
        }

        if (options.MaxRateLimitWait < TimeSpan.Zero || options.MaxRateLimitWait > TimeSpan.FromHours(1))
        {
            failures.Add($"{prefix}:MaxRateLimitWait must be between 00:00:00 and 01:00:00.");
        }

        if (options.RequestTimeout <= TimeSpan.Zero || options.RequestTimeout > TimeSpan.FromMinutes(5))
        {
            failures.Add($"{prefix}:RequestTimeout must be between 00:00:00.001 and 00:05:00.");
        }

        if (options.RetryDelay < TimeSpan.Zero || options.RetryDelay > TimeSpan.FromMinutes(1))
        {
            failures.Add($"{prefix}:RetryDelay must be between 00:00:00 and 00:01:00.");
        }

        if (!string.IsNullOrWhiteSpace(options.PrivateKeyPath) || !string.IsNullOrWhiteSpace(options.PrivateKey))
        {
            try
            {
                using var key = AppPrivateKey.Load(options);
            }
            catch (AppPrivateKeyException ex)
            {
                failures.Add(ex.Message);
            }

            if (options.AppId is not > 0 && string.IsNullOrWhiteSpace(options.ClientId))
            {
                failures.Add($"{prefix}:AppId (or {prefix}:ClientId) must be set when a private key is configured.");
            }

            if (options.JwtIssuer == GitHubJwtIssuer.AppId && options.AppId is not > 0)
            {
                failures.Add($"{prefix}:JwtIssuer is AppId, so {prefix}:AppId must be set.");
            }
            else if (options.JwtIssuer == GitHubJwtIssuer.ClientId && string.IsNullOrWhiteSpace(options.ClientId))
            {
                failures.Add($"{prefix}:JwtIssuer is ClientId, so {prefix}:ClientId must be set.");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
