using Hubgate.Apps;
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
        return services.AddGitHubApp(configuration.GetSection(GitHubAppOptions.SectionName));
    }

    /// <summary>
    /// As <see cref="AddGitHubApp(IServiceCollection, IConfiguration)"/>, with the Apps read from
    /// <paramref name="section"/>, a section shaped like <c>GitHub</c> (e.g. <c>configuration.GetSection("GitHub")</c>):
    /// App <c>default</c> from its keys, named Apps from its <c>Apps</c> section; reloaded with it, validated at start-up,
    /// and failures name the keys under the section's path.
    /// </summary>
    public static IServiceCollection AddGitHubApp(this IServiceCollection services, IConfigurationSection section)
    {
        ArgumentNullException.ThrowIfNull(section);
        services.AddOptions<GitHubAppOptions>()
            .Configure(options => options.ConfigurationPrefix = section.Path)
            .Bind(section);
        services.AddOptions<GitHubAppsOptions>()
            .Configure(options => GitHubAppsOptions.Read(options, section));
        services.TryAddSingleton<IOptionsChangeTokenSource<GitHubAppsOptions>>(new ConfigurationChangeTokenSource<GitHubAppsOptions>(section));
        return AddGitHubAppServices(services);
    }

    /// <summary>
    /// As <see cref="AddGitHubApp(IServiceCollection, IConfiguration)"/>, with App <c>default</c> set by
    /// <paramref name="configure"/> (from the defaults of <see cref="GitHubAppOptions"/>; no configuration is read) and
    /// validated at start-up: the host does not start with a key that cannot be loaded or a setting out of range, and the
    /// failure names the setting (<c>GitHub:RequestTimeout</c>). Further Apps can be stored at run time
    /// (<c>AddStoredGitHubApps</c>). <paramref name="configure"/> may run more than once; it should only set values.
    /// </summary>
    public static IServiceCollection AddGitHubApp(this IServiceCollection services, Action<GitHubAppOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<GitHubAppOptions>().Configure(configure);
        services.AddOptions<GitHubAppsOptions>().Configure(options =>
        {
            var defaults = new GitHubAppOptions();
            configure(defaults);
            options.Apps[GitHubApp.DefaultName] = defaults;
        });
        return AddGitHubAppServices(services);
    }

    private static IServiceCollection AddGitHubAppServices(IServiceCollection services)
    {
        services.AddOptions<GitHubAppOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<GitHubAppOptions>, GitHubAppOptionsValidator>());
        services.AddOptions<GitHubAppsOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<GitHubAppsOptions>, GitHubAppsOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<InstallationTokenStore>();
        services.TryAddSingleton<GitHubAppServices>();
        services.TryAddSingleton(sp => new GitHubApps(
            sp.GetRequiredService<IOptionsMonitor<GitHubAppsOptions>>(), sp.GetRequiredService<GitHubAppServices>(),
            () => sp.GetService<GitHubAppStore>()));

        // The App of today's single-App keys, for code written before there were several Apps.
        services.TryAddSingleton(sp => sp.GetRequiredService<GitHubApps>().Default.Clock);
        services.TryAddSingleton(sp => sp.GetRequiredService<GitHubApps>().Default.Jwts);
        services.TryAddSingleton(sp => sp.GetRequiredService<GitHubApps>().Default.RateLimits);
        services.TryAddSingleton(sp => sp.GetRequiredService<GitHubApps>().Default.Tokens);

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
    /// <see cref="GitHubRequestOptions.ForInstallation"/>. Idempotent requests are retried on 5xx and timeouts; rate
    /// limits (primary and secondary) are waited out within <c>GitHub:MaxRateLimitWait</c>, outside the per-attempt
    /// <c>GitHub:RequestTimeout</c>, and never retried on the transient schedule. Redirects are followed by Hubgate
    /// rather than the primary handler: with the same credentials while they stay on this GitHub (a renamed
    /// repository), without any elsewhere (archives on codeload, release assets).
    /// The client's <see cref="HttpClient.BaseAddress"/> defaults to <c>GitHub:ApiBaseUrl</c>.
    /// </summary>
    public static IHttpClientBuilder AddGitHubAppAuthentication(this IHttpClientBuilder builder, long? installationId = null, bool retryUnsafeMethods = false) =>
        AddGitHubAppAuthentication(builder, GitHubApp.DefaultName, installationId, retryUnsafeMethods);

    /// <summary>
    /// As <see cref="AddGitHubAppAuthentication(IHttpClientBuilder, long?, bool)"/>, acting as the App named
    /// <paramref name="app"/> (<c>GitHub:Apps:{app}</c>, or stored): its JWT, its installations' tokens, its host. A
    /// request may still name another App with <see cref="GitHubRequestOptions.ForApp"/>.
    /// </summary>
    public static IHttpClientBuilder AddGitHubAppAuthentication(this IHttpClientBuilder builder, string app, long? installationId = null, bool retryUnsafeMethods = false)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(app);
        builder.ConfigureHttpClient((sp, client) =>
        {
            client.BaseAddress ??= sp.GetRequiredService<GitHubApps>().Get(app).ApiBaseUrl;
            client.Timeout = Timeout.InfiniteTimeSpan; // the resilience pipeline owns timeouts
        });

        // Outermost first: the rate-limit gate and the authorizing handler (which may mint a token) run outside the
        // resilience pipeline, so neither a wait for a reset nor a mint counts against one attempt's timeout.
        var settings = new GitHubAppAuthenticationSettings(installationId, App: app);
        builder.AddHttpMessageHandler(sp => CreateGate(sp, settings));
        builder.AddHttpMessageHandler(sp => CreateHandler(sp, settings));
        // Each hop of a redirect is an attempt of its own (timeout, transient retries), with the credentials the
        // authorizing handler set while it stays on this GitHub.
        builder.AddHttpMessageHandler(sp =>
        {
            var apps = sp.GetRequiredService<GitHubApps>();
            return new GitHubRedirectHandler(request => settings.ResolveApp(apps, request).Endpoints, sp.GetRequiredService<ILogger<GitHubRedirectHandler>>());
        });
        builder.ConfigurePrimaryHttpMessageHandler((primary, _) => GitHubRedirectHandler.DisableAutomaticRedirects(primary));
        builder.AddResilienceHandler("github", (pipeline, context) =>
        {
            var options = context.ServiceProvider.GetRequiredService<GitHubApps>().TryGet(app, out var named)
                ? named.Options
                : context.ServiceProvider.GetRequiredService<IOptions<GitHubAppOptions>>().Value;
            var retry = new HttpRetryStrategyOptions
            {
                MaxRetryAttempts = 3,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.RetryDelay,
                // 5xx, 408, timeouts and connection failures; not 429, which is a rate limit for the gate to wait out.
                ShouldHandle = static args => ValueTask.FromResult(args.Outcome switch
                {
                    { Exception: HttpRequestException or Polly.Timeout.TimeoutRejectedException } => true,
                    { Result: { } response } => (int)response.StatusCode >= 500 || response.StatusCode == System.Net.HttpStatusCode.RequestTimeout,
                    _ => false,
                }),
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

        return builder;
    }

    /// <summary>The rate-limit gate in front of the authorizing handler, in front of <paramref name="inner"/> (the proxy's pipeline).</summary>
    internal static GitHubRateLimitGate CreatePipeline(IServiceProvider services, GitHubAppAuthenticationSettings settings, HttpMessageHandler inner)
    {
        var handler = CreateHandler(services, settings);
        handler.InnerHandler = inner;
        var gate = CreateGate(services, settings);
        gate.InnerHandler = handler;
        return gate;
    }

    internal static GitHubRateLimitGate CreateGate(IServiceProvider services, GitHubAppAuthenticationSettings settings) =>
        new(services.GetRequiredService<GitHubApps>(),
            settings,
            services.GetRequiredService<ILogger<GitHubRateLimitGate>>());

    internal static GitHubAppAuthenticationHandler CreateHandler(IServiceProvider services, GitHubAppAuthenticationSettings settings) =>
        new(services.GetRequiredService<GitHubApps>(),
            settings,
            services.GetRequiredService<ILogger<GitHubAppAuthenticationHandler>>());
}
