using System.CommandLine;
using Hubgate.Apps;

namespace Hubgate.Server.Cli;

/// <summary><c>--app NAME</c>: the App a command acts as or reads (default <c>default</c>), checked against the registry.</summary>
internal static class AppOption
{
    public static Option<string> Create(string what) => new("--app")
    {
        Description = $"The GitHub App {what}: its name in Hubgate (default, GitHub:Apps:NAME, or a stored App).",
        DefaultValueFactory = _ => GitHubApp.DefaultName,
    };

    /// <summary>The App named by <paramref name="option"/>; otherwise null, with an error on stderr listing the Apps there are.</summary>
    public static async Task<GitHubApp?> ResolveAsync(ParseResult parse, Option<string> option, CliServices services)
    {
        var name = parse.GetValue(option) ?? GitHubApp.DefaultName;
        var apps = services.Get<GitHubApps>();
        if (apps.TryGet(name, out var app))
        {
            return app;
        }

        await parse.InvocationConfiguration.Error.WriteLineAsync($"hubgate: --app {name}: no GitHub App of that name. Known Apps: {Known(apps)}.");
        return null;
    }

    /// <summary>
    /// For a filter such as <c>--app</c> on a listing (absent: every App): true when <paramref name="name"/> is absent or
    /// names an App (configured, or stored by any process); otherwise false, with an error on stderr listing the Apps there are.
    /// </summary>
    public static async Task<bool> CheckFilterAsync(ParseResult parse, string? name, CliServices services, CancellationToken cancellationToken)
    {
        var apps = services.Get<GitHubApps>();
        if (name is null || apps.TryGet(name, out _) || await apps.FindAsync(name, cancellationToken) is not null)
        {
            return true;
        }

        await parse.InvocationConfiguration.Error.WriteLineAsync($"hubgate: --app {name}: no GitHub App of that name. Known Apps: {Known(apps)}.");
        return false;
    }

    /// <summary>The names of the Apps a deployment has, for error messages.</summary>
    public static string Known(GitHubApps apps) =>
        apps.All.Count == 0 ? "none (configure GitHub:AppId or GitHub:Apps:NAME)" : string.Join(", ", apps.All.Select(a => a.Name));
}
