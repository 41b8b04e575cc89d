namespace Hubgate.Authentication;

/// <summary>Per-request settings read by <see cref="GitHubAppAuthenticationHandler"/>.</summary>
public static class GitHubRequestOptions
{
    /// <summary>The installation whose token authorizes the request (overrides the client's default).</summary>
    public static readonly HttpRequestOptionsKey<long> InstallationId = new("Hubgate.InstallationId");

    /// <summary>Sets the installation whose token authorizes <paramref name="request"/>.</summary>
    public static HttpRequestMessage ForInstallation(this HttpRequestMessage request, long installationId)
    {
        ArgumentNullException.ThrowIfNull(request);
        request.Options.Set(InstallationId, installationId);
        return request;
    }
}
