using System.CommandLine;
using System.Text.Json;
using Spectre.Console;
using Hubgate.Integrations;
using Hubgate.Server.Api;
using Hubgate.Storage;
using Hubgate.Webhooks;

namespace Hubgate.Server.Cli;

/// <summary>
/// Splits the command line between the service (no command, or <c>serve</c>) and operator commands, which run against
/// the same configuration (appsettings, environment variables such as <c>GitHub__AppId</c>) and database as the service.
/// </summary>
internal static class HubgateCommand
{
    private static readonly HashSet<string> Commands = new(StringComparer.Ordinal)
    {
        "apps", "check", "clients", "deliveries", "jwt", "listen", "migrate", "send", "sign", "subscriptions", "sync", "token", "--help", "-h", "-?", "--version",
    };

    /// <summary>When the first argument names an operator command, starts it and returns its exit-code task.</summary>
    public static bool TryGetCommand(string[] args, out Task<int> run)
    {
        run = Task.FromResult(0);
        if (args.Length == 0 || !Commands.Contains(args[0]))
        {
            return false;
        }

        run = RunAsync(args);
        return true;
    }

    /// <summary>
    /// Runs a command. A database that cannot be reached is one line on stderr naming the provider and host, and exit
    /// code 2 — not a stack trace.
    /// </summary>
    internal static async Task<int> RunAsync(string[] args, IReadOnlyDictionary<string, string?>? settings = null,
        InvocationConfiguration? configuration = null, CancellationToken cancellationToken = default)
    {
        configuration ??= new InvocationConfiguration();
        configuration.EnableDefaultExceptionHandler = false;
        try
        {
            return await Build(settings).Parse(args).InvokeAsync(configuration, cancellationToken);
        }
        catch (DatabaseUnavailableException e)
        {
            await configuration.Error.WriteLineAsync($"hubgate: {e.Message}");
            return 2;
        }
    }

    /// <summary>The arguments the web host sees: everything but a leading <c>serve</c>.</summary>
    public static string[] ServeArguments(string[] args) =>
        args.Length > 0 && args[0] == "serve" ? args[1..] : args;

    /// <param name="settings">Configuration that overrides the service's (tests).</param>
    internal static RootCommand Build(IReadOnlyDictionary<string, string?>? settings = null)
    {
        var root = new RootCommand("Hubgate: a GitHub App's tokens, proxy and durable webhook inbox. Without a command, runs the service.");
        var serve = new Command("serve", "Runs the service (the same as no command): webhooks, proxy, API, dashboard, worker.");
        serve.SetAction(_ => 0); // never reached: `serve` starts the web host in Program before commands are parsed
        root.Subcommands.Add(serve);
        root.Subcommands.Add(Hubgate.Server.Demo.DemoCommand.Describe());
        root.Subcommands.Add(Migrate(settings));
        root.Subcommands.Add(CheckCommand.Create(settings));
        root.Subcommands.Add(Sync(settings));
        root.Subcommands.Add(Deliveries(settings));
        root.Subcommands.Add(CredentialCommands.Jwt(settings));
        root.Subcommands.Add(CredentialCommands.Token(settings));
        root.Subcommands.Add(ClientCommands.Create(settings));
        root.Subcommands.Add(AppCommands.Create(settings));
        root.Subcommands.Add(SubscriptionCommands.Create(settings));
        root.Subcommands.Add(CredentialCommands.AuditList(settings));
        root.Subcommands.Add(PayloadCommands.Sign(settings));
        root.Subcommands.Add(PayloadCommands.Send(settings));
        root.Subcommands.Add(ListenCommand.Create());
        return root;
    }

    private static Command Migrate(IReadOnlyDictionary<string, string?>? settings)
    {
        var command = new Command("migrate", "Creates or upgrades the database schema, then exits.");
        command.SetAction(async (parse, cancellationToken) =>
        {
            await using var services = await CliServices.StartAsync(settings, cancellationToken);
            parse.InvocationConfiguration.Output.WriteLine("Database is migrated.");
            return 0;
        });
        return command;
    }

    private static Command Sync(IReadOnlyDictionary<string, string?>? settings)
    {
        var json = new Option<bool>("--json") { Description = "Print the report as JSON instead of progress and a summary." };
        var appName = AppOption.Create("whose installations to list, with its JWT and installation tokens, on its host");
        var command = new Command("sync", "Lists every installation of an App and its repositories on GitHub and repairs the model: adds what is missing, " +
                                          "marks what GitHub no longer has as deleted / disabled.") { json, appName };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var output = parse.InvocationConfiguration.Output;
            await using var services = await CliServices.StartAsync(settings, cancellationToken);
            var asJson = parse.GetValue(json);
            static string Line(SyncProgress p) => $"[{p.Index}/{p.Total}] installation {p.InstallationId} ({p.Account ?? "?"}): " +
                (p.Error is null ? $"{p.Repositories} repositories" : $"FAILED: {p.Error}");
            if (await AppOption.ResolveAsync(parse, appName, services) is not { } app)
            {
                return 2;
            }

            SyncReport report;
            try
            {
                var sync = services.Get<InstallationSync>();
                if (asJson)
                {
                    report = await sync.SyncAsync(app.Name, null, cancellationToken);
                }
                else if (CliConsole.IsTerminal(parse))
                {
                    // On a terminal: a progress bar over the installations, each finished one printed above it.
                    var console = CliConsole.For(parse);
                    report = await console.Progress().AutoClear(true).StartAsync(async context =>
                    {
                        var task = context.AddTask("Syncing installations", maxValue: 1);
                        return await sync.SyncAsync(app.Name, new SynchronousProgress<SyncProgress>(p =>
                        {
                            task.MaxValue = Math.Max(1, p.Total);
                            task.Value = p.Index;
                            console.MarkupLine(Markup.Escape(Line(p)));
                        }), cancellationToken);
                    });
                }
                else
                {
                    report = await sync.SyncAsync(app.Name, new SynchronousProgress<SyncProgress>(p => output.WriteLine(Line(p))), cancellationToken);
                }
            }
            catch (Hubgate.Apps.GitHubAppNotFoundException e)
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync(e.Message);
                return 2;
            }
            catch (Exception e) when (e is Hubgate.Authentication.GitHubApiException or Hubgate.Authentication.GitHubAppNotConfiguredException or HttpRequestException)
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync($"Could not list GitHub's installations: {e.Message}");
                return 1;
            }

            if (asJson)
            {
                CliConsole.WriteJson(parse, report);
            }
            else
            {
                output.WriteLine($"Installations: {report.InstallationsSeen} on GitHub, {report.InstallationsAdded} added, {report.InstallationsRemoved} marked deleted, " +
                                 $"{report.InstallationsSuspended} suspended.");
                output.WriteLine($"Repositories: {report.RepositoriesSeen} on GitHub, {report.RepositoriesAdded} added, {report.RepositoriesReactivated} re-enabled, " +
                                 $"{report.RepositoriesDisabled} disabled.");
                output.WriteLine(report.Errors.Count == 0 ? $"Done in {report.Duration.TotalSeconds:0.0} s." : $"{report.Errors.Count} installations could not be listed (see above).");
            }

            return report.Errors.Count == 0 ? 0 : 1;
        });
        return command;
    }

    /// <summary>Reports on the caller's thread, in order (Progress&lt;T&gt; would post to the thread pool and reorder lines).</summary>
    private sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }

    private static string StateMarkup(DeliveryState state) => state switch
    {
        DeliveryState.Processed => "[green]processed[/]",
        DeliveryState.Failed => "[yellow]failed[/]",
        DeliveryState.Dead => "[red]dead[/]",
        _ => state.ToString().ToLowerInvariant(),
    };

    private static Command Deliveries(IReadOnlyDictionary<string, string?>? settings)
    {
        var deliveries = new Command("deliveries", "The webhook inbox: list, replay, recover what GitHub failed to deliver.");
        var json = new Option<bool>("--json") { Description = "Print JSON instead of text." };
        var app = AppOption.Create("whose deliveries these are");

        var since = new Option<string>("--since") { Description = "How far back to look: 30m, 12h, 3d (GitHub keeps 3 days).", DefaultValueFactory = _ => "72h" };
        var dryRun = new Option<bool>("--dry-run") { Description = "Report what would be redelivered without asking GitHub." };
        var events = new Option<string?>("--event")
        {
            Description = "Only these events, comma-separated (push,pull_request); default Webhooks:RecoverEvents, else every event.",
        };
        var recover = new Command("recover", "Asks GitHub to redeliver every delivery it failed to send to an App that the inbox does not hold as that App's.")
        {
            since, dryRun, events, json, app,
        };
        recover.SetAction(async (parse, cancellationToken) =>
        {
            if (!Durations.TryParse(parse.GetValue(since), out var lookback) || lookback <= TimeSpan.Zero)
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync($"--since '{parse.GetValue(since)}' is not a duration: use e.g. 30m, 12h, 3d.");
                return 2;
            }

            await using var services = await CliServices.StartAsync(settings, cancellationToken);
            RecoveryReport report;
            try
            {
                var recovery = services.Get<DeliveryRecovery>();
                report = CliConsole.IsTerminal(parse) && !parse.GetValue(json)
                    ? await CliConsole.For(parse).Status().StartAsync("Listing GitHub's deliveries and asking for the missing ones…",
                        _ => recovery.RecoverAsync(parse.GetValue(app)!, lookback, parse.GetValue(dryRun), DeliveryRecovery.ParseEvents(parse.GetValue(events)), cancellationToken))
                    : await recovery.RecoverAsync(parse.GetValue(app)!, lookback, parse.GetValue(dryRun), DeliveryRecovery.ParseEvents(parse.GetValue(events)), cancellationToken);
            }
            catch (Hubgate.Apps.GitHubAppNotFoundException e)
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync(e.Message);
                return 2;
            }
            catch (Exception e) when (e is Hubgate.Authentication.GitHubApiException or Hubgate.Authentication.GitHubAppNotConfiguredException or HttpRequestException)
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync($"Could not list GitHub's deliveries: {e.Message}");
                return 1;
            }

            if (parse.GetValue(json))
            {
                CliConsole.WriteJson(parse, report);
            }
            else if (report.Skipped is not null)
            {
                parse.InvocationConfiguration.Output.WriteLine($"Nothing done: {report.Skipped}.");
            }
            else
            {
                var output = parse.InvocationConfiguration.Output;
                output.WriteLine($"Since {report.Since:u}: {report.Scanned} delivery attempts listed by GitHub, {report.Failed} never delivered, " +
                                  $"{report.AlreadyStored} of those already in the inbox, {report.DeliveredLater} delivered on a later attempt" +
                                  (report.Events.Count > 0 ? $", {report.Filtered} of other events than {string.Join(',', report.Events)} left alone." : "."));
                if (report.Awaiting > 0)
                {
                    output.WriteLine($"{report.Awaiting} already asked for, awaiting GitHub's redelivery.");
                }

                foreach (var r in report.Refused)
                {
                    output.WriteLine($"  {r.DeliveryGuid}  {r.Event}{(r.Action is null ? "" : "." + r.Action)}  refused again by Hubgate with {r.StatusCode} " +
                                     $"({r.Status}) after {r.Requests} request(s) → not asked again; fix the cause (webhook secret, size), then replay it from GitHub");
                }

                foreach (var r in report.Requested)
                {
                    var outcome = parse.GetValue(dryRun) ? "would redeliver" : r.Accepted ? "redelivery requested" : $"not accepted by GitHub: {r.Error}";
                    parse.InvocationConfiguration.Output.WriteLine($"  {r.DeliveryGuid}  {r.Event}{(r.Action is null ? "" : "." + r.Action)}  {r.DeliveredAt:u}  {r.Status}  → {outcome}");
                }

                parse.InvocationConfiguration.Output.WriteLine(parse.GetValue(dryRun) ? $"{report.Requested.Count} to redeliver (dry run)." : $"{report.Accepted} redeliveries requested.");
            }

            return report.Requested.Any(r => !r.Accepted) && !parse.GetValue(dryRun) ? 1 : 0;
        });

        var state = new Option<string?>("--state") { Description = "pending, processing, processed, ignored, failed or dead." };
        var eventName = new Option<string?>("--event") { Description = "Only this event (push, pull_request, …)." };
        var limit = new Option<int>("--limit") { Description = "At most this many, newest first.", DefaultValueFactory = _ => 20 };
        var onlyApp = new Option<string?>("--app") { Description = "Only this App's deliveries (default: every App's)." };
        var list = new Command("list", "Lists stored deliveries, newest first.") { state, eventName, limit, onlyApp, json };
        list.SetAction(async (parse, cancellationToken) =>
        {
            DeliveryState? wanted = null;
            if (parse.GetValue(state) is { Length: > 0 } text)
            {
                if (!DeliverySummary.TryParseState(text, out var parsed))
                {
                    await parse.InvocationConfiguration.Error.WriteLineAsync($"Unknown state '{text}': use one of {DeliverySummary.StateNames}.");
                    return 2;
                }

                wanted = parsed;
            }

            await using var services = await CliServices.StartAsync(settings, cancellationToken);
            if (!await AppOption.CheckFilterAsync(parse, parse.GetValue(onlyApp), services, cancellationToken))
            {
                return 2;
            }

            var rows = await services.Get<WebhookInbox>().ListAsync(
                parse.GetValue(onlyApp), wanted, parse.GetValue(eventName), before: null, Math.Clamp(parse.GetValue(limit), 1, 10_000), cancellationToken);
            if (parse.GetValue(json))
            {
                CliConsole.WriteJson(parse, rows);
                return 0;
            }

            var console = CliConsole.For(parse);
            var table = new Table().AddColumns("#", "app", "delivery", "event", "state", "attempts", "received (UTC)", "last error / reason");
            foreach (var r in rows)
            {
                var why = (r.LastError ?? r.IgnoredReason)?.Split('\n')[0] ?? "";
                table.AddRow(r.Sequence.ToString(System.Globalization.CultureInfo.InvariantCulture), Markup.Escape(r.App), Markup.Escape(r.DeliveryId),
                    Markup.Escape(r.Event + (r.Action is null ? "" : "." + r.Action)), StateMarkup(r.State), r.Attempts.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    r.ReceivedAt.ToString("u", System.Globalization.CultureInfo.InvariantCulture), Markup.Escape(why.Length > 80 ? why[..80] + "…" : why));
            }

            console.Write(table);
            console.WriteLine($"{rows.Count} deliveries.");
            return 0;
        });

        var showId = new Argument<string>("delivery-id") { Description = "The X-GitHub-Delivery id." };
        var show = new Command("show", "Shows one stored delivery: its state, the headers kept and the payload.") { showId, json, app };
        show.SetAction(async (parse, cancellationToken) =>
        {
            await using var services = await CliServices.StartAsync(settings, cancellationToken);
            var detail = await Hubgate.Server.Webhooks.DeliveriesEndpoints.DeliveryDetail.LoadAsync(
                services.Get<Microsoft.EntityFrameworkCore.IDbContextFactory<Hubgate.Storage.HubgateDbContext>>(), services.Get<Hubgate.Webhooks.Store.DeliveryStore>(),
                parse.GetValue(app)!, parse.GetValue(showId)!, cancellationToken);
            if (detail is null)
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync($"No delivery {parse.GetValue(showId)} of App {parse.GetValue(app)} is stored.");
                return 1;
            }

            if (parse.GetValue(json))
            {
                CliConsole.WriteJson(parse, detail);
                return 0;
            }

            var d = detail.Delivery;
            var output = parse.InvocationConfiguration.Output;
            output.WriteLine($"delivery   {d.DeliveryId} (#{d.Sequence})");
            output.WriteLine($"event      {d.Event}{(d.Action is null ? "" : "." + d.Action)}");
            output.WriteLine($"state      {d.State.ToString().ToLowerInvariant()} after {d.Attempts} attempt(s){(d.LastError is null ? "" : ": " + d.LastError.Split('\n')[0])}");
            output.WriteLine($"received   {d.ReceivedAt:u}");
            if (detail.PossibleReplayOf is { } earlier)
            {
                output.WriteLine($"replay?    same body as {earlier}");
            }

            output.WriteLine("headers    " + (detail.Headers?.ToString() ?? "{}"));
            output.WriteLine(JsonSerializer.Serialize(detail.Payload, CliConsole.Json));
            return 0;
        });

        var id = new Argument<string>("delivery-id") { Description = "The X-GitHub-Delivery id." };
        var replaySubscription = new Option<string?>("--subscription") { Description = "Only for this subscription (default: every subscription it was handed to)." };
        var replay = new Command("replay", "Puts a stored delivery back in the queue (the service's worker processes it).") { id, app, replaySubscription };
        replay.SetAction(async (parse, cancellationToken) =>
        {
            await using var services = await CliServices.StartAsync(settings, cancellationToken);
            var deliveryId = parse.GetValue(id)!;
            if (await services.Get<WebhookInbox>().ReplayAsync(parse.GetValue(app)!, deliveryId, parse.GetValue(replaySubscription), cancellationToken))
            {
                parse.InvocationConfiguration.Output.WriteLine($"Delivery {deliveryId} is queued again.");
                return 0;
            }

            await parse.InvocationConfiguration.Error.WriteLineAsync($"No delivery {deliveryId} of App {parse.GetValue(app)} is stored, or it is being processed right now.");
            return 1;
        });

        deliveries.Subcommands.Add(recover);
        deliveries.Subcommands.Add(list);
        deliveries.Subcommands.Add(show);
        deliveries.Subcommands.Add(replay);
        return deliveries;
    }
}
