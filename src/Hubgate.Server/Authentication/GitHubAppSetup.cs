using Hubgate.Authentication;

namespace Hubgate.Server.Authentication;

internal static class GitHubAppSetup
{
    /// <summary>The App's JWTs and installation tokens (<c>GitHub:*</c>), validated at start-up.</summary>
    public static WebApplicationBuilder AddGitHubApp(this WebApplicationBuilder builder)
    {
        builder.Services.AddGitHubApp(builder.Configuration);
        builder.Services.AddHostedService<GitHubAppStartupCheck>();
        return builder;
    }
}
