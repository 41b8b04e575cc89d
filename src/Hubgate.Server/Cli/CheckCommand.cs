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
/// <c>hubgate check</c>: the configuration end to end, each finding in words — per App (every App, or the one named by
/// <c>--app</c>): App id, private key, webhook secret, GitHub reachable with that App's JWT and answering as that App
/// (its name and installation count); the data directory (<c>Hubgate:DataDirectory</c>, when the database is in it);
/// the database, reachable and migrated; and each RabbitMQ subscription's broker (connected, exchange present). Exit code 0 when everything passes,
/// 1 otherwise. Nothing is changed (no migration).
/// </summary>
internal static class CheckCommand
{
    /// <summary>One finding; <see cref="App"/> is null for the deployment's own (the database).</summary>
    internal sealed record Check(string Name, bool Ok, string Detail, string? App = null);

    internal sealed record Report(bool Ok, IReadOnlyList<Check> Checks);

    public static Command Create(IReadOnlyDictionary<string, string?>? settings)
    {
        var json = new Option<bool>("--json") { Description = "Print the findings as JSON." };
        var appName = new Option<string>("--app") { Description = "Check only this GitHub App (its name in Hubgate); without it, every App." };
        var command = new Command("check", "Validates the configuration end to end and says what is wrong, per App: key, App id, webhook secret, GitHub; and the database.")
            { json, appName };
        command.SetAction(async (parse, cancellationToken) =>
        {
            await using var services = await CliServices.StartAsync(settings, cancellationToken, migrate: false);
            IReadOnlyList<GitHubApp> apps;
            try
            {
                var registry = services.Get<GitHubApps>();
                if (parse.GetValue(appName) is { } only)
                {
                    if (!registry.TryGet(only, out var app))
                    {
                        await parse.InvocationConfiguration.Error.WriteLineAsync($"hubgate: --app {only}: no GitHub App of that name. Known Apps: {AppOption.Known(registry)}.");
                        return 2;
                    }

                    apps = [app];
                }
                else
                {
                    apps = registry.All.Count > 0 ? registry.All : [registry.Default];
                }
            }
            catch (Microsoft.Extensions.Options.OptionsValidationException e)
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync($"hubgate: {e.Message}");
                return 1;
            }

            var checks = await RunAsync(services, apps, cancellationToken);
            var report = new Report(checks.All(c => c.Ok), checks);
            if (parse.GetValue(json))
            {
                CliConsole.WriteJson(parse, report);
            }
            else
            {
                var console = CliConsole.For(parse);
                foreach (var section in checks.GroupBy(c => c.App))
                {
                    console.WriteLine(section.Key is { } app ? $"App {app}" : "Deployment");
                    var table = new Table().AddColumns("Check", "", "Detail");
                    foreach (var c in section)
                    {
                        table.AddRow(Markup.Escape(c.Name), c.Ok ? "[green]ok[/]" : "[red]FAIL[/]", Markup.Escape(c.Detail));
                    }

                    console.Write(table);
                }

                var failing = checks.Where(c => !c.Ok && c.App is not null).Select(c => c.App).Distinct().ToList();
                console.WriteLine(report.Ok ? "Everything checks out." : $"{checks.Count(c => !c.Ok)} problem(s) found." +
                    (failing.Count > 0 ? $" Apps with problems: {string.Join(", ", failing)}." : string.Empty));
            }

            return report.Ok ? 0 : 1;
        });
        return command;
    }

    /// <summary>Each App's own checks, then the database, then GitHub as each App (only for Apps whose id and key check out).</summary>
    private static async Task<List<Check>> RunAsync(CliServices services, IReadOnlyList<GitHubApp> apps, CancellationToken cancellationToken)
    {
        var checks = new List<Check>();
        var ready = new List<GitHubApp>();
        foreach (var app in apps)
        {
            if (CheckApp(app, checks))
            {
                ready.Add(app);
            }
        }

        if (services.Get<Microsoft.Extensions.Options.IOptions<DatabaseOptions>>().Value.DataDirectory is { } directory)
        {
            checks.Add(CheckDataDirectory(directory));
        }

        var migrator = services.Get<DatabaseMigrator>();
        var (reachable, migrated, error) = await migrator.CheckAsync(cancellationToken);
        checks.Add(new Check("Database", reachable && migrated, !reachable
            ? $"{migrator.Describe()}: cannot be opened: {error}"
            : migrated ? $"{migrator.Describe()}: reachable, migrations applied" : $"{migrator.Describe()}: reachable, migrations pending — run `hubgate migrate` (or start the service)."));

        if (reachable && migrated)
        {
            // One line per RabbitMQ subscription: the broker reachable with its credentials, the exchange there.
            var catalog = services.Get<Hubgate.Webhooks.Subscriptions.SubscriptionCatalog>();
            var brokers = services.Get<Hubgate.Webhooks.Subscriptions.RabbitMq.RabbitMqBrokers>();
            foreach (var broker in await Health.HealthEndpoints.BrokersAsync(catalog, brokers, cancellationToken))
            {
                checks.Add(new Check($"RabbitMQ ({broker.Subscription})", broker.Ok, broker switch
                {
                    { Ok: true, ExchangePresent: true } => $"{broker.Broker}: connected, exchange '{broker.Exchange}' present",
                    { Ok: true } => $"{broker.Broker}: connected; exchange '{broker.Exchange}' not there yet, declared when the first delivery is published",
                    _ => broker.Error ?? $"{broker.Broker}: not connected",
                }));
            }
        }

        foreach (var app in apps)
        {
            checks.Add(ready.Contains(app)
                ? await CheckGitHubAsync(services, app, cancellationToken)
                : new Check("GitHub API", false, "not tried: the App id and private key are needed first.", app.Name));
        }

        return checks;
    }

    /// <summary>The data directory the database is in: created owner-only when missing, refused when others may read or write it.</summary>
    private static Check CheckDataDirectory(string directory)
    {
        try
        {
            DataDirectory.Prepare(directory);
            return new Check("Data directory", true, DataDirectory.Describe(directory));
        }
        catch (DataDirectoryException e)
        {
            return new Check("Data directory", false, e.Message);
        }
    }

    /// <summary>The App's id, key and webhook secret; true when GitHub can be asked (id and key check out).</summary>
    private static bool CheckApp(GitHubApp app, List<Check> checks)
    {
        var options = app.Options;
        var prefix = options.ConfigurationPrefix;
        var appId = options.AppId is > 0 || !string.IsNullOrWhiteSpace(options.ClientId);
        checks.Add(new Check("GitHub App id", appId,
            appId ? (options.IssuerIsAppId ? $"App id {options.AppId} (the JWT issuer)" : $"client id {options.Issuer} (the JWT issuer)") : $"{prefix}:AppId (or {prefix}:ClientId) is not set.",
            app.Name));

        var keyOk = false;
        try
        {
            using var key = AppPrivateKey.Load(options);
            keyOk = true;
            var source = app.Source == GitHubAppSource.Database ? "the database (encrypted)"
                : string.IsNullOrWhiteSpace(options.PrivateKey) ? $"file {options.PrivateKeyPath}" : $"{prefix}:PrivateKey";
            checks.Add(new Check("Private key", true, $"RSA, {key.KeySize} bits, from {source}", app.Name));
        }
        catch (AppPrivateKeyException e)
        {
            checks.Add(new Check("Private key", false, e.Message, app.Name));
        }

        var secrets = app.WebhookSecrets.Count;
        checks.Add(new Check("Webhook secret", secrets > 0, secrets > 0
            ? secrets == 1 ? "set" : $"set, with {secrets - 1} more accepted for rotation"
            : $"{prefix}:WebhookSecret is not set: every delivery to this App would be refused with 401.", app.Name));
        return appId && keyOk;
    }

    /// <summary>
    /// <c>GET /app</c> with the App's JWT on its host: proves the key belongs to the App, GitHub is reachable, and the App
    /// GitHub answers as is the one configured (its id).
    /// </summary>
    private static async Task<Check> CheckGitHubAsync(CliServices services, GitHubApp app, CancellationToken cancellationToken)
    {
        var apiBase = app.ApiBaseUrl;
        try
        {
            using var client = services.Get<GitHubClientFactory>().CreateHttpClient(app.Name, installationId: null);
            using var response = await client.GetAsync(new Uri("app", UriKind.Relative), cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                var message = await ErrorMessageAsync(response, cancellationToken);
                var hint = (int)response.StatusCode == 401
                    ? $" The private key does not belong to this App id ({app.Options.ConfigurationPrefix}:AppId of App '{app.Name}'), or the machine's clock is far off."
                    : string.Empty;
                return new Check("GitHub API", false, $"{apiBase} answered {(int)response.StatusCode} to GET /app: {message}.{hint}", app.Name);
            }

            var body = await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
            var name = body.TryGetProperty("name", out var n) ? n.GetString() : "?";
            var count = body.TryGetProperty("installations_count", out var c) && c.ValueKind == JsonValueKind.Number
                ? c.GetInt32().ToString(CultureInfo.InvariantCulture)
                : "unknown";
            var id = body.TryGetProperty("id", out var i) && i.ValueKind == JsonValueKind.Number ? i.GetInt64() : (long?)null;
            if (app.Options.AppId is > 0 and var configured && id != configured)
            {
                return new Check("GitHub API", false,
                    $"{apiBase} answered GET /app as App id {id?.ToString(CultureInfo.InvariantCulture) ?? "unknown"} (\"{name}\"), not {configured} ({app.Options.ConfigurationPrefix}:AppId).", app.Name);
            }

            return new Check("GitHub API", true, $"{apiBase}: the App \"{name}\", installed {count} time(s)", app.Name);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or GitHubApiException or GitHubAppNotConfiguredException
                                       or Microsoft.Extensions.Options.OptionsValidationException or InvalidOperationException)
        {
            return new Check("GitHub API", false, $"{apiBase} could not be reached: {e.Message}", app.Name);
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
