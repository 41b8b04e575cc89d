namespace Hubgate.Authentication;

/// <summary>
/// Hubgate refused to send the App's credentials with a request, before sending it: the request's URI is not under the
/// App's API base (<c>GitHub:ApiBaseUrl</c>, or the named App's) nor that host's GraphQL or uploads endpoint. Nothing
/// was sent. A proxy answers it as a refused path; a caller should fix the URI, not retry.
/// </summary>
public sealed class GitHubCredentialsRefusedException : HubgateException
{
    /// <summary>A refusal to send credentials to <paramref name="destination"/>, explained by <paramref name="message"/>.</summary>
    public GitHubCredentialsRefusedException(string message, Uri destination)
        : base(message)
    {
        ArgumentNullException.ThrowIfNull(destination);
        Destination = destination;
    }

    /// <summary>The scheme, host and port the request was addressed to.</summary>
    public Uri Destination { get; }
}
