using Hubgate.Apps;

namespace Hubgate.Webhooks;

/// <summary>
/// Where an App's webhook secret is set, for messages: its configuration key and environment variable
/// (<c>GitHub:WebhookSecret</c> for <c>default</c>, <c>GitHub:Apps:{name}:WebhookSecret</c> for a named App), or, for an
/// App stored in the database, the command that stores one. The secrets themselves are the App's
/// (<see cref="GitHubApp.WebhookSecrets"/>, hot-reloaded): the registry is their one source.
/// </summary>
internal static class WebhookSecretKeys
{
    /// <summary>The key that holds the App's primary webhook secret.</summary>
    public static string Primary(GitHubApp app) => app.Source == GitHubAppSource.Database
        ? $"the App's stored webhook secret (hubgate apps add {app.Name} --webhook-secret …)"
        : app.Options.ConfigurationPrefix + ":WebhookSecret";

    /// <summary>The environment variable of <see cref="Primary"/> (<c>GitHub__Apps__ghes__WebhookSecret</c>).</summary>
    public static string Environment(GitHubApp app) => app.Source == GitHubAppSource.Database
        ? "none: it is stored in the database"
        : app.Options.ConfigurationPrefix.Replace(":", "__", StringComparison.Ordinal) + "__WebhookSecret";
}
