using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;

namespace Hubgate.Authentication;

/// <summary>Registers the GitHub App's authentication: JWTs, installation tokens and the authorizing handler.</summary>
public static class GitHubAppServiceCollectionExtensions
{
    /// <summary>
    /// Adds <see cref="AppJwtFactory"/>, <see cref="InstallationTokenProvider"/>, <see cref="GitHubRateLimits"/>
    /// and <see cref="GitHubClientFactory"/>, configured from the <c>GitHub</c> section and validated at start-up.
    /// Needs the store (<c>AddHubgateStorage</c>) for persisted tokens.
    /// </summary>
    public static IServiceCollection AddGitHubApp(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<GitHubAppOptions>()
            .Bind(configuration.GetSection(GitHubAppOptions.SectionName))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<GitHubAppOptions>, GitHubAppOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<GitHubClock>();
        services.TryAddSingleton<AppJwtFactory>();
        services.TryAddSingleton<GitHubRateLimits>();
        services.TryAddSingleton<InstallationTokenStore>();
        services.TryAddSingleton(sp => new InstallationTokenProvider(
            sp.GetRequiredService<IHttpClientFactory>(),
            sp.GetRequiredService<InstallationTokenStore>(),
            sp.GetRequiredService<IOptions<GitHubAppOptions>>(),
            sp.GetRequiredService<GitHubClock>(),
            sp.GetRequiredService<ILogger<InstallationTokenProvider>>()));

        // Minting is a POST, but a retried mint only mints another token: retry it on 5xx and timeouts too.
        services.AddHttpClient(InstallationTokenProvider.MintClientName)
            .AddGitHubAppAuthentication(retryUnsafeMethods: true);
        services.AddHttpClient(GitHubClientFactory.ClientName).AddGitHubAppAuthentication();
        services.TryAddSingleton<GitHubClientFactory>();
        return services;
    }

    /// <summary>
    /// Authorizes this client's requests as the GitHub App: requests to app routes carry the App JWT, all others an
    /// installation token — of <paramref name="installationId"/>, or of the one a request names with
    /// <see cref="GitHubRequestOptions.ForInstallation"/>. Idempotent requests are retried on 5xx and timeouts.
    /// Redirects are followed by Hubgate rather than the primary handler: with the same credentials while they stay on
    /// this GitHub (a renamed repository), without any elsewhere (archives on codeload, release assets).
    /// The client's <see cref="HttpClient.BaseAddress"/> defaults to <c>GitHub:ApiBaseUrl</c>.
    /// </summary>
    public static IHttpClientBuilder AddGitHubAppAuthentication(this IHttpClientBuilder builder, long? installationId = null, bool retryUnsafeMethods = false)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.ConfigureHttpClient((sp, client) =>
        {
            client.BaseAddress ??= sp.GetRequiredService<IOptions<GitHubAppOptions>>().Value.NormalizedApiBaseUrl;
            client.Timeout = Timeout.InfiniteTimeSpan; // the resilience pipeline owns timeouts
        });

        builder.AddResilienceHandler("github", (pipeline, context) =>
        {
            var options = context.ServiceProvider.GetRequiredService<IOptions<GitHubAppOptions>>().Value;
            var retry = new HttpRetryStrategyOptions
            {
                MaxRetryAttempts = 3,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.RetryDelay,
            };
            if (!retryUnsafeMethods)
            {
                retry.DisableForUnsafeHttpMethods();
            }

            pipeline
                .AddTimeout(options.RequestTimeout * 4 + options.RetryDelay * 8)
                .AddRetry(retry)
                .AddTimeout(options.RequestTimeout);
        });

        builder.AddHttpMessageHandler(sp => CreateHandler(sp, new GitHubAppAuthenticationSettings(installationId)));
        builder.AddHttpMessageHandler(sp => new GitHubRedirectHandler(
            sp.GetRequiredService<IOptions<GitHubAppOptions>>().Value.Endpoints,
            sp.GetRequiredService<ILogger<GitHubRedirectHandler>>()));
        builder.ConfigurePrimaryHttpMessageHandler((primary, _) => GitHubRedirectHandler.DisableAutomaticRedirects(primary));
        return builder;
    }

    internal static GitHubAppAuthenticationHandler CreateHandler(IServiceProvider services, GitHubAppAuthenticationSettings settings) =>
        new(services.GetRequiredService<InstallationTokenProvider>(),
            services.GetRequiredService<AppJwtFactory>(),
            services.GetRequiredService<GitHubClock>(),
            services.GetRequiredService<GitHubRateLimits>(),
            services.GetRequiredService<IOptions<GitHubAppOptions>>(),
            settings,
            services.GetRequiredService<ILogger<GitHubAppAuthenticationHandler>>());
}
