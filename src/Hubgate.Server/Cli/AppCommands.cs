using System.CommandLine;
using System.Globalization;
using Hubgate.Apps;
using Hubgate.Server.Setup;
using Spectre.Console;

namespace Hubgate.Server.Cli;

/// <summary>
/// <c>hubgate apps create|add|list|remove</c>: GitHub Apps added at run time, stored (secrets encrypted) in the
/// database the service uses, and live on every replica without a restart.
/// </summary>
internal static class AppCommands
{
    private const string Actor = "the hubgate apps command";

    public static Command Create(IReadOnlyDictionary<string, string?>? settings)
    {
        var apps = new Command("apps", "GitHub Apps: create one from a manifest, add an existing one, list, remove (those in GitHub:Apps are listed too).");
        apps.Subcommands.Add(CreateFromManifest(settings));
        apps.Subcommands.Add(Add(settings));
        apps.Subcommands.Add(List(settings));
        apps.Subcommands.Add(Remove(settings));
        return apps;
    }

    private static Command CreateFromManifest(IReadOnlyDictionary<string, string?>? settings)
    {
        var name = new Argument<string>("name") { Description = "Hubgate's name for the App: a-z, 0-9 and '-' (also its proposed name on GitHub)." };
        var organization = new Option<string?>("--org") { Description = "Register it under this organization (default: the account signed in to GitHub)." };
        var host = new Option<string?>("--host") { Description = "A GitHub Enterprise Server host (ghe.example.com); default github.com." };
        var apiBaseUrl = new Option<string?>("--api-base-url") { Description = "The host's REST API base when it is not https://HOST/api/v3/." };
        var wait = new Option<string>("--wait") { Description = "How long to wait for GitHub's return: 30s, 15m, up to 1h (0: print the address and exit).", DefaultValueFactory = _ => "15m" };
        var json = new Option<bool>("--json") { Description = "Print the outcome as JSON." };
        var command = new Command("create", "Registers a new App on GitHub from a manifest: prints an address to open in a browser, then waits for GitHub's return and prints the App.")
        {
            name, organization, host, apiBaseUrl, wait, json,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var error = parse.InvocationConfiguration.Error;
            if (!Api.Durations.TryParse(parse.GetValue(wait), out var waitFor) || waitFor < TimeSpan.Zero || waitFor > AppManifestFlow.Lifetime)
            {
                await error.WriteLineAsync($"hubgate: --wait '{parse.GetValue(wait)}' is not a duration between 0 and 1h (30s, 15m).");
                return 2;
            }

            if (AppManifestFlow.TryTarget(parse.GetValue(host), parse.GetValue(apiBaseUrl), out var target) is { } problem)
            {
                await error.WriteLineAsync($"hubgate: {problem}");
                return 2;
            }

            await using var services = await CliServices.StartAsync(settings, cancellationToken);
            var flow = services.Get<AppManifestFlow>();
            var started = await flow.StartAsync(parse.GetValue(name)!, parse.GetValue(organization), target, Actor, cancellationToken);
            if (started.Error is not null)
            {
                await error.WriteLineAsync($"hubgate: {started.Error}");
                return 2;
            }

            await error.WriteLineAsync($"Open this address in a browser signed in to {target.WebBaseUrl.Host} (it works once, in one browser, for an hour):");
            parse.InvocationConfiguration.Output.WriteLine(started.StartUrl!.AbsoluteUri);
            if (waitFor == TimeSpan.Zero)
            {
                return 0;
            }

            await error.WriteLineAsync($"Waiting up to {waitFor} for GitHub to send the browser back…");
            var time = services.Get<TimeProvider>();
            var deadline = time.GetUtcNow() + waitFor;
            ManifestStatus? status;
            while (true)
            {
                status = await flow.StatusAsync(started.State!, cancellationToken);
                if (status is null or { Completed: true } or { Expired: true } || time.GetUtcNow() >= deadline)
                {
                    break;
                }

                await Task.Delay(TimeSpan.FromSeconds(1), time, cancellationToken);
            }

            if (status is { Completed: true, Error: null, App: { } app })
            {
                if (parse.GetValue(json))
                {
                    CliConsole.WriteJson(parse, new { app, install_url = status.InstallUrl });
                }
                else
                {
                    parse.InvocationConfiguration.Output.WriteLine(
                        $"App {app.Name} is registered: id {app.AppId.ToString(CultureInfo.InvariantCulture)}, slug {app.Slug}, on {app.WebBaseUrl.Host}; its secrets are stored encrypted.");
                    if (status.InstallUrl is { } install)
                    {
                        parse.InvocationConfiguration.Output.WriteLine($"Install it: {install.AbsoluteUri}");
                    }
                }

                return 0;
            }

            await error.WriteLineAsync(status switch
            {
                { Error: { } failed } => $"hubgate: the App was not registered: {failed}",
                { Expired: true } => "hubgate: the registration link expired before GitHub sent the browser back; start again.",
                _ => $"hubgate: GitHub has not sent the browser back within {waitFor}; the link stays valid until {started.ExpiresAt:u} (hubgate apps list shows the App once it is back).",
            });
            return 1;
        });
        return command;
    }

    private static Command Add(IReadOnlyDictionary<string, string?>? settings)
    {
        var name = new Argument<string>("name") { Description = "Hubgate's name for the App: a-z, 0-9 and '-'." };
        var appId = new Option<long>("--app-id") { Description = "GitHub's numeric App id (the App's settings page).", Required = true };
        var keyFile = new Option<FileInfo>("--private-key-file") { Description = "The App's private key (.pem, as GitHub hands it out).", Required = true };
        var secret = new Option<string?>("--webhook-secret")
        {
            Description = "The App's webhook secret (deliveries to /webhooks/github/NAME are verified with it). Visible to other users in the process list: prefer --webhook-secret-file.",
        };
        var secretFile = new Option<FileInfo?>("--webhook-secret-file") { Description = "A file holding the App's webhook secret (a trailing newline is ignored)." };
        var apiBaseUrl = new Option<string>("--api-base-url") { Description = "https://api.github.com/ (default) or https://HOST/api/v3/.", DefaultValueFactory = _ => "https://api.github.com/" };
        var clientId = new Option<string?>("--client-id") { Description = "The App's client id." };
        var slug = new Option<string?>("--slug") { Description = "The App's slug (its URL name on GitHub)." };
        var command = new Command("add", "Adds an App registered on GitHub already; its key and secret are stored encrypted and it is live at once.")
        {
            name, appId, keyFile, secret, secretFile, apiBaseUrl, clientId, slug,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            if (!Uri.TryCreate(parse.GetValue(apiBaseUrl), UriKind.Absolute, out var api))
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync($"hubgate: --api-base-url '{parse.GetValue(apiBaseUrl)}' is not an absolute URL (https://HOST/api/v3/).");
                return 2;
            }

            string pem;
            try
            {
                pem = await File.ReadAllTextAsync(parse.GetValue(keyFile)!.FullName, cancellationToken);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync($"hubgate: cannot read --private-key-file: {e.Message}");
                return 2;
            }

            var (secretRead, webhookSecret) = await SecretOptions.ReadAsync(parse, secret, secretFile, cancellationToken);
            if (!secretRead)
            {
                return 2;
            }

            await using var services = await CliServices.StartAsync(settings, cancellationToken);
            var registration = new GitHubAppRegistration(parse.GetValue(name)!, parse.GetValue(appId), parse.GetValue(clientId), null, pem,
                api, null, webhookSecret, [], parse.GetValue(slug));
            var change = await services.Get<GitHubAppStore>().AddAsync(registration, null, Actor, cancellationToken);
            if (change.Error is not null)
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync($"hubgate: {change.Message}");
                return 2;
            }

            parse.InvocationConfiguration.Output.WriteLine($"App {change.App!.Name} (id {change.App.AppId.ToString(CultureInfo.InvariantCulture)} on {change.App.ApiBaseUrl.Host}) is added; " +
                                                          $"its webhooks go to /webhooks/github/{change.App.Name}.");
            return 0;
        });
        return command;
    }

    private static Command List(IReadOnlyDictionary<string, string?>? settings)
    {
        var json = new Option<bool>("--json") { Description = "Print JSON instead of a table." };
        var command = new Command("list", "Lists every App, configured and stored, removed ones too (never a key or secret).") { json };
        command.SetAction(async (parse, cancellationToken) =>
        {
            await using var services = await CliServices.StartAsync(settings, cancellationToken);
            var list = await services.Get<GitHubAppStore>().ListAsync(cancellationToken);
            if (parse.GetValue(json))
            {
                CliConsole.WriteJson(parse, list);
                return 0;
            }

            var table = new Table().AddColumns("name", "source", "app id", "slug", "api", "webhook secret", "state");
            foreach (var a in list)
            {
                var state = a.RemovedAt is { } removed ? $"removed {removed:u}" : a.Live ? "live" : "not configured";
                table.AddRow(Markup.Escape(a.Name), a.Source.ToString().ToLowerInvariant(), a.AppId.ToString(CultureInfo.InvariantCulture), Markup.Escape(a.Slug ?? ""),
                    Markup.Escape(a.ApiBaseUrl.AbsoluteUri), a.HasWebhookSecret ? "set" : "none", Markup.Escape(state));
            }

            var console = CliConsole.For(parse);
            console.Write(table);
            console.WriteLine($"{list.Count} Apps.");
            return 0;
        });
        return command;
    }

    private static Command Remove(IReadOnlyDictionary<string, string?>? settings)
    {
        var name = new Argument<string>("name");
        var command = new Command("remove", "Removes a stored App: Hubgate stops acting as it and refuses its deliveries; what it recorded is kept.") { name };
        command.SetAction(async (parse, cancellationToken) =>
        {
            await using var services = await CliServices.StartAsync(settings, cancellationToken);
            var change = await services.Get<GitHubAppStore>().RemoveAsync(parse.GetValue(name)!, Actor, cancellationToken);
            if (change.Error is not null)
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync($"hubgate: {change.Message}");
                return change.Error == AppChangeError.NotFound ? 1 : 2;
            }

            parse.InvocationConfiguration.Output.WriteLine($"App {parse.GetValue(name)} is removed; its history is kept.");
            return 0;
        });
        return command;
    }
}
