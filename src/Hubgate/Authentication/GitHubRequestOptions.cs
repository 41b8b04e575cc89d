namespace Hubgate.Authentication;

/// <summary>Per-request settings read by <see cref="GitHubAppAuthenticationHandler"/>.</summary>
public static class GitHubRequestOptions
{
    /// <summary>The App (its name in Hubgate) the request is sent as (overrides the client's; default <c>default</c>).</summary>
    public static readonly HttpRequestOptionsKey<string> App = new("Hubgate.App");

    /// <summary>The installation whose token authorizes the request (overrides the client's default).</summary>
    public static readonly HttpRequestOptionsKey<long> InstallationId = new("Hubgate.InstallationId");

    /// <summary>The request acts as the App (its JWT) even outside app routes, e.g. a GraphQL query as the App.</summary>
    public static readonly HttpRequestOptionsKey<bool> ActAsApp = new("Hubgate.ActAsApp");

    /// <summary>The scope of the installation token that authorizes the request (default: the installation's own).</summary>
    public static readonly HttpRequestOptionsKey<InstallationTokenScope> TokenScope = new("Hubgate.TokenScope");

    /// <summary>Makes <paramref name="request"/> carry the App's JWT whatever its route (see <see cref="ActAsApp"/>).</summary>
    public static HttpRequestMessage AsApp(this HttpRequestMessage request)
    {
        ArgumentNullException.ThrowIfNull(request);
        request.Options.Set(ActAsApp, true);
        return request;
    }

    /// <summary>Sends <paramref name="request"/> as the App named <paramref name="app"/> (its JWT, its installations' tokens, its host).</summary>
    public static HttpRequestMessage ForApp(this HttpRequestMessage request, string app)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrEmpty(app);
        request.Options.Set(App, app);
        return request;
    }

    /// <summary>Sets the installation whose token authorizes <paramref name="request"/>.</summary>
    public static HttpRequestMessage ForInstallation(this HttpRequestMessage request, long installationId)
    {
        ArgumentNullException.ThrowIfNull(request);
        request.Options.Set(InstallationId, installationId);
        return request;
    }

    /// <summary>Authorizes <paramref name="request"/> with a token minted for <paramref name="scope"/> only.</summary>
    public static HttpRequestMessage WithTokenScope(this HttpRequestMessage request, InstallationTokenScope scope)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(scope);
        request.Options.Set(TokenScope, scope);
        return request;
    }
}
