using System.Net;

namespace Hubgate.Authentication;

/// <summary>GitHub answered a request Hubgate made on the App's behalf with an error.</summary>
public class GitHubApiException : Exception
{
    public GitHubApiException(string message, HttpStatusCode? statusCode = null, Exception? inner = null)
        : base(message, inner) => StatusCode = statusCode;

    public GitHubApiException()
    {
    }

    public GitHubApiException(string message)
        : base(message)
    {
    }

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
    public long InstallationId { get; } = installationId;
}

/// <summary>The installation is suspended by the account's owner. Its row is marked <c>suspended</c>.</summary>
public sealed class InstallationSuspendedException(long installationId)
    : GitHubApiException(
        $"GitHub installation {installationId} is suspended; an owner of the account must unsuspend the App before it can act there.",
        HttpStatusCode.Forbidden)
{
    public long InstallationId { get; } = installationId;
}

/// <summary>GitHub's rate limit is exhausted; <see cref="ResetsAt"/> says when to try again.</summary>
public sealed class GitHubRateLimitException(string message, DateTimeOffset? resetsAt, TimeSpan? retryAfter, HttpStatusCode statusCode)
    : GitHubApiException(message, statusCode)
{
    /// <summary>When the primary limit resets (<c>X-RateLimit-Reset</c>), if GitHub said.</summary>
    public DateTimeOffset? ResetsAt { get; } = resetsAt;

    /// <summary>How long to wait for a secondary limit (<c>Retry-After</c>), if GitHub said.</summary>
    public TimeSpan? RetryAfter { get; } = retryAfter;
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
    public long InstallationId { get; } = installationId;

    /// <summary>The scope GitHub refused.</summary>
    public InstallationTokenScope Scope { get; } = scope;
}
