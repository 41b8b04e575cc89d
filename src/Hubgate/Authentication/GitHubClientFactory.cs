using Microsoft.Extensions.Options;
using Octokit;
using Octokit.Internal;

namespace Hubgate.Authentication;

/// <summary>
/// Octokit.NET clients whose requests go through <see cref="GitHubAppAuthenticationHandler"/>, so their tokens
/// refresh themselves: <c>var github = factory.ForInstallation(installationId);</c>
/// </summary>
public sealed class GitHubClientFactory(IHttpMessageHandlerFactory handlers, IOptions<GitHubAppOptions> options)
{
    /// <summary>The named HTTP client (and handler pipeline) behind these clients.</summary>
    public const string ClientName = "Hubgate.GitHub";

    /// <summary>A client that acts as the installation (installation token; App JWT on app routes).</summary>
    public GitHubClient ForInstallation(long installationId) => Create(installationId);

    /// <summary>A client that acts as the App itself (App JWT; for <c>client.GitHubApps.*</c>).</summary>
    public GitHubClient ForApp() => Create(null);

    /// <summary>
    /// A plain <see cref="HttpClient"/> on the same authorizing pipeline, acting as the installation (or as the App when
    /// <paramref name="installationId"/> is null); relative URIs resolve against <c>GitHub:ApiBaseUrl</c>. Dispose it
    /// when done (the pooled handlers underneath are not disposed).
    /// </summary>
    public HttpClient CreateHttpClient(long? installationId)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new HttpClient(new InstallationScopeHandler(installationId) { InnerHandler = handlers.CreateHandler(ClientName) })
        {
            BaseAddress = options.Value.NormalizedApiBaseUrl,
            Timeout = Timeout.InfiniteTimeSpan, // the resilience pipeline owns timeouts
        };
    }

    private GitHubClient Create(long? installationId)
    {
        ArgumentNullException.ThrowIfNull(options);
        var adapter = new HttpClientAdapter(() => new InstallationScopeHandler(installationId)
        {
            InnerHandler = handlers.CreateHandler(ClientName),
        });
        var connection = new Connection(
            new ProductHeaderValue("Hubgate"),
            options.Value.NormalizedApiBaseUrl,
            new InMemoryCredentialStore(Credentials.Anonymous),
            adapter,
            new SimpleJsonSerializer());
        return new GitHubClient(connection);
    }

    /// <summary>Names the installation on requests that Octokit builds (they carry no installation of their own).</summary>
    private sealed class InstallationScopeHandler(long? installationId) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (installationId is { } id && !request.Options.TryGetValue(GitHubRequestOptions.InstallationId, out _))
            {
                request.ForInstallation(id);
            }

            return base.SendAsync(request, cancellationToken);
        }
    }
}
