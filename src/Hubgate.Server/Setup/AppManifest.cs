using System.Text.Json;
using System.Text.Json.Nodes;

namespace Hubgate.Server.Setup;

/// <summary>
/// The App manifest Hubgate hands GitHub (GitHub's "Registering a GitHub App from a manifest"): where GitHub sends the
/// App's webhooks, the browser after registration and after an installation, and the permissions and events the
/// integration model is built from. The App is private (<c>public: false</c>); GitHub lets the person registering it
/// rename it before it is created.
/// </summary>
internal static class AppManifest
{
    /// <summary>
    /// What the model reads: repositories (metadata), pushes and their commits through the compare API (contents),
    /// pull requests. Installation events come without asking.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> Permissions = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["metadata"] = "read",
        ["contents"] = "read",
        ["pull_requests"] = "read",
    };

    /// <summary>GitHub refuses longer App names (the person registering it can still rename it on GitHub's page).</summary>
    public const int MaxGitHubNameLength = 34;

    /// <summary>The events the model handles that an App subscribes to (installation events are always sent).</summary>
    public static readonly IReadOnlyList<string> Events = ["push", "pull_request", "repository"];

    /// <summary>Where GitHub posts this App's deliveries.</summary>
    public static Uri WebhookUrl(Uri publicUrl, string app) => new(publicUrl, $"webhooks/github/{Uri.EscapeDataString(app)}");

    /// <summary>Where GitHub sends the browser with the manifest's one-time code.</summary>
    public static Uri RedirectUrl(Uri publicUrl) => new(publicUrl, "setup/apps/callback");

    /// <summary>Where GitHub sends the browser after the App is installed or its installation changed (GitHub adds its own parameters).</summary>
    public static Uri SetupUrl(Uri publicUrl, string app) => new(publicUrl, $"setup/installations/callback?app={Uri.EscapeDataString(app)}");

    /// <summary>The manifest as JSON.</summary>
    public static string Build(string name, Uri publicUrl) => new JsonObject
    {
        ["name"] = name.Length > MaxGitHubNameLength ? name[..MaxGitHubNameLength] : name,
        ["url"] = publicUrl.AbsoluteUri,
        ["hook_attributes"] = new JsonObject { ["url"] = WebhookUrl(publicUrl, name).AbsoluteUri, ["active"] = true },
        ["redirect_url"] = RedirectUrl(publicUrl).AbsoluteUri,
        ["setup_url"] = SetupUrl(publicUrl, name).AbsoluteUri,
        ["setup_on_update"] = true,
        ["description"] = "Served by Hubgate at " + publicUrl.AbsoluteUri,
        ["public"] = false,
        ["default_permissions"] = new JsonObject(Permissions.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)p.Value))),
        ["default_events"] = new JsonArray([.. Events.Select(e => (JsonNode?)e)]),
    }.ToJsonString(new JsonSerializerOptions { WriteIndented = false });

    /// <summary>
    /// Where the manifest is posted: the user's account, or an organization's, on the App's host
    /// (<c>{web}/settings/apps/new</c>, <c>{web}/organizations/{org}/settings/apps/new</c>).
    /// </summary>
    public static Uri FormUrl(Uri webBaseUrl, string? organization, string state)
    {
        var path = organization is null ? "settings/apps/new" : $"organizations/{Uri.EscapeDataString(organization)}/settings/apps/new";
        return new Uri(webBaseUrl, $"{path}?state={Uri.EscapeDataString(state)}");
    }
}
