using System.Net;

namespace Hubgate.Authentication;

/// <summary>
/// GitHub answered a request Hubgate made on the App's behalf with an error, or could not be reached
/// (<see cref="StatusCode"/> is then null). The subclasses are the answers a caller may act on: the installation gone
/// (<see cref="InstallationNotFoundException"/>) or suspended (<see cref="InstallationSuspendedException"/>), the App's
/// JWT rejected (<see cref="GitHubAppCredentialsRejectedException"/>), a token scope refused
/// (<see cref="InstallationTokenScopeException"/>), a rate limit (<see cref="GitHubRateLimitException"/>).
/// </summary>
public class GitHubApiException : HubgateException
{
    /// <summary>GitHub's answer <paramref name="statusCode"/> (null: no answer), described by <paramref name="message"/>.</summary>
    public GitHubApiException(string message, HttpStatusCode? statusCode = null, Exception? inner = null)
        : base(message, inner) => StatusCode = statusCode;

    /// <summary>An exception with the default message and no status code.</summary>
    public GitHubApiException()
    {
    }

    /// <summary>An exception with <paramref name="message"/> and no status code.</summary>
    public GitHubApiException(string message)
        : base(message)
    {
    }

    /// <summary>An exception with <paramref name="message"/>, caused by <paramref name="innerException"/>, and no status code.</summary>
    public GitHubApiException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>GitHub's status code, when GitHub answered at all.</summary>
    public HttpStatusCode? StatusCode { get; }
}

/// <summary>GitHub no longer knows the installation (uninstalled, or a wrong id). Its row is marked <c>deleted</c>.</summary>
public sealed class InstallationNotFoundException(long installationId)
    : GitHubApiException(
        $"GitHub installation {installationId} was not found: the App has been uninstalled from that account, or the id is wrong. " +
        "It is marked deleted; reinstall the App (a new installation id) or run `hubgate sync`.",
        HttpStatusCode.NotFound)
{
    /// <summary>The installation GitHub does not know.</summary>
    public long InstallationId { get; } = installationId;
}

/// <summary>The installation is suspended by the account's owner. Its row is marked <c>suspended</c>.</summary>
public sealed class InstallationSuspendedException(long installationId)
    : GitHubApiException(
        $"GitHub installation {installationId} is suspended; an owner of the account must unsuspend the App before it can act there.",
        HttpStatusCode.Forbidden)
{
    /// <summary>The suspended installation.</summary>
    public long InstallationId { get; } = installationId;
}

/// <summary>
/// GitHub's rate limit stopped the request, and waiting for it would exceed <c>GitHub:MaxRateLimitWait</c>:
/// a primary limit (the credential's bucket for <see cref="Resource"/> is empty until <see cref="ResetsAt"/>) or a
/// secondary limit (<see cref="IsSecondary"/>: too many requests too fast; retry after <see cref="RetryAfter"/>).
/// </summary>
public sealed class GitHubRateLimitException(
    string message, DateTimeOffset? resetsAt, TimeSpan? retryAfter, HttpStatusCode? statusCode, bool isSecondary = false, string? resource = null)
    : GitHubApiException(message, statusCode)
{
    /// <summary>When to try again, on the local clock: the primary limit's reset, or the end of the secondary limit's wait.</summary>
    public DateTimeOffset? ResetsAt { get; } = resetsAt;

    /// <summary>How long to wait from when the exception was thrown (<c>Retry-After</c>, the reset, or the secondary back-off).</summary>
    public TimeSpan? RetryAfter { get; } = retryAfter;

    /// <summary>True for a secondary limit (GitHub's "secondary rate limit", or a 403/429 with <c>Retry-After</c>).</summary>
    public bool IsSecondary { get; } = isSecondary;

    /// <summary>The rate-limit resource (<c>core</c>, <c>search</c>, <c>graphql</c>, …), when known.</summary>
    public string? Resource { get; } = resource;
}

/// <summary>
/// GitHub refused to mint a token for the scope asked (422): a repository the installation does not have, or a
/// permission it was not granted. The message names the installation, the scope and GitHub's reason.
/// </summary>
public sealed class InstallationTokenScopeException(long installationId, InstallationTokenScope scope, string gitHubMessage)
    : GitHubApiException(
        $"GitHub refused a token for installation {installationId} limited to {scope}: {gitHubMessage}",
        HttpStatusCode.UnprocessableEntity)
{
    /// <summary>The installation the token was asked for.</summary>
    public long InstallationId { get; } = installationId;

    /// <summary>The scope GitHub refused.</summary>
    public InstallationTokenScope Scope { get; } = scope;
}

/// <summary>
/// GitHub rejected the App's JWT (401) while Hubgate minted an installation token: the App id or client id and the
/// private key do not belong to the same App, the key was revoked, or the clocks disagree beyond what Hubgate corrects.
/// The message names the keys to check.
/// </summary>
public sealed class GitHubAppCredentialsRejectedException(string app, long installationId, string message)
    : GitHubApiException(message, HttpStatusCode.Unauthorized)
{
    /// <summary>The App whose JWT GitHub rejected (<c>default</c> for the <c>GitHub:*</c> keys).</summary>
    public string App { get; } = app;

    /// <summary>The installation the token was being minted for.</summary>
    public long InstallationId { get; } = installationId;
}
