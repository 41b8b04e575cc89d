namespace Hubgate.Authentication;

/// <summary>Per-request settings read by <see cref="GitHubAppAuthenticationHandler"/>.</summary>
public static class GitHubRequestOptions
{
    /// <summary>The installation whose token authorizes the request (overrides the client's default).</summary>
    public static readonly HttpRequestOptionsKey<long> InstallationId = new("Hubgate.InstallationId");

    /// <summary>The request acts as the App (its JWT) even outside app routes, e.g. a GraphQL query as the App.</summary>
    public static readonly HttpRequestOptionsKey<bool> ActAsApp = new("Hubgate.ActAsApp");

    /// <summary>Makes <paramref name="request"/> carry the App's JWT whatever its route (see <see cref="ActAsApp"/>).</summary>
    public static HttpRequestMessage AsApp(this HttpRequestMessage request)
    {
        ArgumentNullException.ThrowIfNull(request);
        request.Options.Set(ActAsApp, true);
        return request;
    }

    /// <summary>Sets the installation whose token authorizes <paramref name="request"/>.</summary>
    public static HttpRequestMessage ForInstallation(this HttpRequestMessage request, long installationId)
    {
        ArgumentNullException.ThrowIfNull(request);
        request.Options.Set(InstallationId, installationId);
        return request;
    }
}
