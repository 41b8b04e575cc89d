using System.CommandLine;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Hubgate.Apps;
using Hubgate.Authentication;
using Hubgate.Storage;
using Spectre.Console;

namespace Hubgate.Server.Cli;

/// <summary>
/// <c>hubgate check</c>: the configuration end to end, each finding in words — App id, private key, webhook secret,
/// database reachable and migrated, GitHub reachable with the App JWT (the App's name and installation count).
/// Exit code 0 when everything passes, 1 otherwise. Nothing is changed (no migration).
/// </summary>
internal static class CheckCommand
{
    /// <summary>One finding.</summary>
    internal sealed record Check(string Name, bool Ok, string Detail);

    internal sealed record Report(bool Ok, IReadOnlyList<Check> Checks);

    public static Command Create(IReadOnlyDictionary<string, string?>? settings)
    {
        var json = new Option<bool>("--json") { Description = "Print the findings as JSON." };
        var command = new Command("check", "Validates the configuration end to end and says what is wrong: key, App id, webhook secret, database, GitHub.") { json };
        command.SetAction(async (parse, cancellationToken) =>
        {
            await using var services = await CliServices.StartAsync(settings, cancellationToken, migrate: false);
            var checks = await RunAsync(services, cancellationToken);
            var report = new Report(checks.All(c => c.Ok), checks);
            if (parse.GetValue(json))
            {
                CliConsole.WriteJson(parse, report);
            }
            else
            {
                var console = CliConsole.For(parse);
                var table = new Table().AddColumns("Check", "", "Detail");
                foreach (var c in checks)
                {
                    table.AddRow(Markup.Escape(c.Name), c.Ok ? "[green]ok[/]" : "[red]FAIL[/]", Markup.Escape(c.Detail));
                }

                console.Write(table);
                console.WriteLine(report.Ok ? "Everything checks out." : $"{checks.Count(c => !c.Ok)} problem(s) found.");
            }

            return report.Ok ? 0 : 1;
        });
        return command;
    }

    private static async Task<List<Check>> RunAsync(CliServices services, CancellationToken cancellationToken)
    {
        var checks = new List<Check>();
        var options = services.Configuration.GetSection("GitHub").Get<GitHubAppOptions>() ?? new GitHubAppOptions();

        var appId = options.AppId is > 0 || !string.IsNullOrWhiteSpace(options.ClientId);
        checks.Add(new Check("GitHub App id", appId,
            appId ? (options.IssuerIsAppId ? $"App id {options.AppId} (the JWT issuer)" : $"client id {options.Issuer} (the JWT issuer)") : "GitHub:AppId (or GitHub:ClientId) is not set."));

        var keyOk = false;
        try
        {
            using var key = AppPrivateKey.Load(options);
            keyOk = true;
            var source = string.IsNullOrWhiteSpace(options.PrivateKey) ? $"file {options.PrivateKeyPath}" : "GitHub:PrivateKey";
            checks.Add(new Check("Private key", true, $"RSA, {key.KeySize} bits, from {source}"));
        }
        catch (AppPrivateKeyException e)
        {
            checks.Add(new Check("Private key", false, e.Message));
        }

        var secrets = services.Get<GitHubApps>().Default.WebhookSecrets;
        checks.Add(new Check("Webhook secret", secrets.Count > 0, secrets.Count > 0
            ? secrets.Count == 1 ? "set" : $"set, with {secrets.Count - 1} more accepted for rotation"
            : "GitHub:WebhookSecret is not set: every delivery would be refused with 401."));

        var migrator = services.Get<DatabaseMigrator>();
        var (reachable, migrated, error) = await migrator.CheckAsync(cancellationToken);
        checks.Add(new Check("Database", reachable && migrated, !reachable
            ? $"{migrator.Describe()}: cannot be opened: {error}"
            : migrated ? $"{migrator.Describe()}: reachable, migrations applied" : $"{migrator.Describe()}: reachable, migrations pending — run `hubgate migrate` (or start the service)."));

        if (!appId || !keyOk)
        {
            checks.Add(new Check("GitHub API", false, "not tried: the App id and private key are needed first."));
            return checks;
        }

        checks.Add(await CheckGitHubAsync(services, options, cancellationToken));
        return checks;
    }

    /// <summary><c>GET /app</c> with the App JWT: proves the key belongs to the App and GitHub is reachable.</summary>
    private static async Task<Check> CheckGitHubAsync(CliServices services, GitHubAppOptions options, CancellationToken cancellationToken)
    {
        try
        {
            using var client = services.Get<GitHubClientFactory>().CreateHttpClient(installationId: null);
            using var response = await client.GetAsync(new Uri("app", UriKind.Relative), cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                var message = await ErrorMessageAsync(response, cancellationToken);
                var hint = (int)response.StatusCode == 401
                    ? " The private key does not belong to this App id, or the machine's clock is far off."
                    : string.Empty;
                return new Check("GitHub API", false, $"{options.ApiBaseUrl} answered {(int)response.StatusCode} to GET /app: {message}.{hint}");
            }

            var app = await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
            var name = app.TryGetProperty("name", out var n) ? n.GetString() : "?";
            var count = app.TryGetProperty("installations_count", out var c) && c.ValueKind == JsonValueKind.Number
                ? c.GetInt32().ToString(CultureInfo.InvariantCulture)
                : "unknown";
            return new Check("GitHub API", true, $"{options.ApiBaseUrl}: the App \"{name}\", installed {count} time(s)");
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or GitHubApiException or GitHubAppNotConfiguredException
                                       or Microsoft.Extensions.Options.OptionsValidationException)
        {
            return new Check("GitHub API", false, $"{options.ApiBaseUrl} could not be reached: {e.Message}");
        }
    }

    private static async Task<string> ErrorMessageAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            var body = await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
            return body.TryGetProperty("message", out var m) ? m.GetString() ?? "" : response.ReasonPhrase ?? "";
        }
        catch (JsonException)
        {
            return response.ReasonPhrase ?? "";
        }
    }
}
