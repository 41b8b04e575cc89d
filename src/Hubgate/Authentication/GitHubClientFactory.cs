using Octokit;
using Octokit.Internal;

namespace Hubgate.Authentication;

/// <summary>
/// Octokit.NET clients whose requests go through <see cref="GitHubAppAuthenticationHandler"/>, so their tokens
/// refresh themselves: <c>var github = factory.ForInstallation(installationId);</c>
/// </summary>
public sealed class GitHubClientFactory(IHttpMessageHandlerFactory handlers, Apps.GitHubApps apps)
{
    /// <summary>The named HTTP client (and handler pipeline) behind these clients.</summary>
    public const string ClientName = "Hubgate.GitHub";

    /// <summary>A client that acts as the installation of App <c>default</c> (installation token; App JWT on app routes).</summary>
    public GitHubClient ForInstallation(long installationId) => Create(Apps.GitHubApp.DefaultName, installationId);

    /// <summary>A client that acts as installation <paramref name="installationId"/> of the App named <paramref name="app"/>, on that App's host.</summary>
    /// <exception cref="Apps.GitHubAppNotFoundException">No such App.</exception>
    public GitHubClient ForInstallation(string app, long installationId) => Create(app, installationId);

    /// <summary>A client that acts as App <c>default</c> itself (App JWT; for <c>client.GitHubApps.*</c>).</summary>
    public GitHubClient ForApp() => Create(Apps.GitHubApp.DefaultName, null);

    /// <summary>A client that acts as the App named <paramref name="app"/> itself (its JWT), on that App's host.</summary>
    /// <exception cref="Apps.GitHubAppNotFoundException">No such App.</exception>
    public GitHubClient ForApp(string app) => Create(app, null);

    /// <summary>
    /// A plain <see cref="HttpClient"/> on the same authorizing pipeline, acting as the installation (or as the App when
    /// <paramref name="installationId"/> is null); relative URIs resolve against <c>GitHub:ApiBaseUrl</c>. Dispose it
    /// when done (the pooled handlers underneath are not disposed).
    /// </summary>
    public HttpClient CreateHttpClient(long? installationId) => CreateHttpClient(Apps.GitHubApp.DefaultName, installationId);

    /// <summary>As <see cref="CreateHttpClient(long?)"/>, as the App named <paramref name="app"/>; relative URIs resolve against its API base.</summary>
    /// <exception cref="Apps.GitHubAppNotFoundException">No such App.</exception>
    public HttpClient CreateHttpClient(string app, long? installationId)
    {
        var target = apps.Get(app);
        return new HttpClient(new InstallationScopeHandler(target.Name, installationId) { InnerHandler = handlers.CreateHandler(ClientName) })
        {
            BaseAddress = target.ApiBaseUrl,
            Timeout = Timeout.InfiniteTimeSpan, // the resilience pipeline owns timeouts
        };
    }

    private GitHubClient Create(string app, long? installationId)
    {
        var target = apps.Get(app);
        var adapter = new HttpClientAdapter(() => new InstallationScopeHandler(target.Name, installationId)
        {
            InnerHandler = handlers.CreateHandler(ClientName),
        });
        var connection = new Connection(
            new ProductHeaderValue("Hubgate"),
            target.ApiBaseUrl,
            new InMemoryCredentialStore(Credentials.Anonymous),
            adapter,
            new SimpleJsonSerializer());
        return new GitHubClient(connection);
    }

    /// <summary>Names the App and installation on requests that Octokit builds (they carry none of their own).</summary>
    private sealed class InstallationScopeHandler(string app, long? installationId) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (!request.Options.TryGetValue(GitHubRequestOptions.App, out _))
            {
                request.ForApp(app);
            }

            if (installationId is { } id && !request.Options.TryGetValue(GitHubRequestOptions.InstallationId, out _))
            {
                request.ForInstallation(id);
            }

            return base.SendAsync(request, cancellationToken);
        }
    }
}
