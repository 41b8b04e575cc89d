using System.CommandLine;
using System.Globalization;
using Hubgate.Server.Subscriptions;
using Hubgate.Storage;
using Hubgate.Webhooks.Store;
using Hubgate.Webhooks.Subscriptions;
using Microsoft.EntityFrameworkCore;
using Spectre.Console;

namespace Hubgate.Server.Cli;

/// <summary>
/// <c>hubgate subscriptions add|list|show|pause|resume|remove|replay</c>: the subscriptions in the database, as
/// <c>/api/subscriptions</c> has them. <c>add</c> prints an HTTP subscription's signing key to stdout alone (so
/// <c>KEY=$(hubgate subscriptions add ci --url …)</c> works), once; no command shows a secret afterwards. Exit codes: 0 done,
/// 1 no such subscription, 2 refused (a field, a conflict).
/// </summary>
internal static class SubscriptionCommands
{
    public static Command Create(IReadOnlyDictionary<string, string?>? settings)
    {
        var subscriptions = new Command("subscriptions", "Where verified deliveries go besides the in-process handlers (the built-in 'local'): HTTP endpoints, streams and RabbitMQ.");
        subscriptions.Subcommands.Add(Add(settings));
        subscriptions.Subcommands.Add(List(settings));
        subscriptions.Subcommands.Add(Show(settings));
        subscriptions.Subcommands.Add(SetStatus(settings, "pause", "Pauses a subscription: deliveries are kept for it (up to Webhooks:MaxRetention), not sent.", SubscriptionStatus.Paused));
        subscriptions.Subcommands.Add(SetStatus(settings, "resume", "Resumes a paused or disabled subscription where it stopped; nothing it was owed is skipped.", SubscriptionStatus.Active));
        subscriptions.Subcommands.Add(Remove(settings));
        subscriptions.Subcommands.Add(Replay(settings));
        return subscriptions;
    }

    private static Command Add(IReadOnlyDictionary<string, string?>? settings)
    {
        var name = new Argument<string>("name") { Description = "1 to 64 of a-z, 0-9 and '-'." };
        var kind = new Option<string?>("--kind") { Description = "http (default: POST to --url), stream (read at /api/subscriptions/NAME/events) or rabbitmq (published to --exchange on --rabbitmq-uri)." };
        var rabbitUri = new Option<string?>("--rabbitmq-uri")
        {
            Description = "A rabbitmq subscription's broker: amqp://user:password@host:5672/vhost or amqps://. Visible to other users in the process list: prefer --rabbitmq-uri-file.",
        };
        var rabbitUriFile = new Option<FileInfo?>("--rabbitmq-uri-file") { Description = "A file holding the broker URI (a trailing newline is ignored)." };
        var exchange = new Option<string?>("--exchange") { Description = "A rabbitmq subscription's durable topic exchange (default github)." };
        var routingKey = new Option<string?>("--routing-key") { Description = "Its routing key template: {event}, {action}, {installation}, {repository} (default github.{event}.{action})." };
        var noDeclare = new Option<bool>("--no-declare-exchange") { Description = "Do not declare the exchange: it must exist (a broker where Hubgate may not declare)." };
        var url = new Option<string?>("--url") { Description = "An HTTP subscription's endpoint: an absolute http or https URL." };
        var secret = new Option<string?>("--secret")
        {
            Description = "The signing secret (24-64 bytes, or whsec_ + base64); generated when not given. Visible to other users in the process list: prefer --secret-file.",
        };
        var secretFile = new Option<FileInfo?>("--secret-file") { Description = "A file holding the signing secret (a trailing newline is ignored)." };
        var events = new Option<string[]>("--event") { Description = "push, pull_request.closed (one action) or * (repeat; none = every event)." };
        var repositories = new Option<string[]>("--repository") { Description = "owner/name (repeat; none = every repository)." };
        var installations = new Option<long[]>("--installation") { Description = "An installation id (repeat; none = every installation)." };
        var ordering = new Option<string?>("--ordering") { Description = "none (default), repository or installation: in order per key." };
        var concurrency = new Option<int?>("--concurrency") { Description = "Deliveries in flight at once (default 8)." };
        var retry = new Option<string[]>("--retry") { Description = "A delay before the next attempt, in order (repeat: --retry 5s --retry 5m …); after the last, dead." };
        var timeout = new Option<string?>("--timeout") { Description = "How long an attempt may take (default 15s)." };
        var disableAfter = new Option<string?>("--disable-after") { Description = "Disabled after failing every attempt for this long (default 24h)." };
        var paused = new Option<bool>("--paused") { Description = "Added paused: deliveries are kept for it, not sent, until resumed." };
        var json = new Option<bool>("--json") { Description = "Print {subscription, signingKey} as JSON." };
        var command = new Command("add", "Adds a subscription; an HTTP one's signing key is printed once.")
        {
            name, kind, url, secret, secretFile, events, repositories, installations, ordering, concurrency, retry, timeout, disableAfter, paused, json,
            rabbitUri, rabbitUriFile, exchange, routingKey, noDeclare,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var error = parse.InvocationConfiguration.Error;
            var (secretRead, signingSecret) = await SecretOptions.ReadAsync(parse, secret, secretFile, cancellationToken);
            if (!secretRead)
            {
                return 2;
            }

            var (uriRead, brokerUri) = await SecretOptions.ReadAsync(parse, rabbitUri, rabbitUriFile, cancellationToken);
            if (!uriRead)
            {
                return 2;
            }

            RabbitMqRequest? rabbit = brokerUri is null && parse.GetValue(exchange) is null && parse.GetValue(routingKey) is null && !parse.GetValue(noDeclare)
                ? null
                : new RabbitMqRequest
                {
                    Uri = brokerUri, Exchange = parse.GetValue(exchange), RoutingKey = parse.GetValue(routingKey),
                    DeclareExchange = parse.GetValue(noDeclare) ? false : null,
                };

            var request = new SubscriptionRequest
            {
                Name = parse.GetValue(name), Kind = parse.GetValue(kind), Url = parse.GetValue(url), Secret = signingSecret,
                Events = parse.GetValue(events), Repositories = parse.GetValue(repositories), Installations = parse.GetValue(installations),
                Ordering = parse.GetValue(ordering), Concurrency = parse.GetValue(concurrency),
                Retry = parse.GetValue(retry) is { Length: > 0 } delays ? delays : null,
                Timeout = parse.GetValue(timeout), DisableAfter = parse.GetValue(disableAfter), Paused = parse.GetValue(paused),
                RabbitMq = rabbit,
            };
            if (request.ToOptions(out var problems) is not { } options)
            {
                await error.WriteLineAsync($"hubgate: {string.Join(" ", problems)}");
                return 2;
            }

            await using var services = await CliServices.StartAsync(settings, cancellationToken);
            var catalog = services.Get<SubscriptionCatalog>();
            (Subscription Subscription, string? SigningKey) added;
            try
            {
                added = await catalog.AddAsync(request.Name!, options, cancellationToken);
            }
            catch (SubscriptionException e)
            {
                await error.WriteLineAsync($"hubgate: {e.Message}");
                return 2;
            }

            var view = await LoadAsync(services, added.Subscription.Name, cancellationToken);
            if (parse.GetValue(json))
            {
                CliConsole.WriteJson(parse, new { subscription = view, signingKey = added.SigningKey });
            }
            else if (added.SigningKey is { } key)
            {
                await error.WriteLineAsync(
                    $"Subscription {view!.Name} ({Lower(view.Kind)}) is added. Its signing key (Standard Webhooks' form) follows; it is shown this once: configure it in the receiver.");
                parse.InvocationConfiguration.Output.WriteLine(key);
            }
            else
            {
                parse.InvocationConfiguration.Output.WriteLine($"Subscription {view!.Name} ({Lower(view.Kind)}) is added.");
            }

            return 0;
        });
        return command;
    }

    private static Command List(IReadOnlyDictionary<string, string?>? settings)
    {
        var json = new Option<bool>("--json") { Description = "Print JSON instead of a table." };
        var command = new Command("list", "Lists every subscription with its state, backlog, last hour, lag and last error (never a secret).") { json };
        command.SetAction(async (parse, cancellationToken) =>
        {
            await using var services = await CliServices.StartAsync(settings, cancellationToken);
            var views = await SubscriptionView.LoadAllAsync(services.Get<SubscriptionCatalog>(), Databases(services), services.Get<TimeProvider>(), cancellationToken);
            if (parse.GetValue(json))
            {
                CliConsole.WriteJson(parse, views);
                return 0;
            }

            var table = new Table().AddColumns("name", "kind", "status", "source", "destination", "backlog", "delivered 1h", "dead 1h", "success", "lag p50/p99", "last error");
            foreach (var v in views)
            {
                var s = v.Stats;
                table.AddRow(Markup.Escape(v.Name), Lower(v.Kind), StatusMarkup(v.Status), Lower(v.Source), Markup.Escape(Destination(v)),
                    Number(s.Backlog), Number(s.DeliveredLastHour), Number(s.DeadLastHour), Rate(s.SuccessRate), $"{Millis(s.LagP50Ms)} / {Millis(s.LagP99Ms)}",
                    Markup.Escape(Shorten(s.LastError?.Message)));
            }

            var console = CliConsole.For(parse);
            console.Write(table);
            console.WriteLine($"{views.Count} subscriptions.");
            return 0;
        });
        return command;
    }

    private static Command Show(IReadOnlyDictionary<string, string?>? settings)
    {
        var name = new Argument<string>("name");
        var json = new Option<bool>("--json") { Description = "Print JSON instead of text." };
        var command = new Command("show", "Shows one subscription: its definition (never its secret), state and stats.") { name, json };
        command.SetAction(async (parse, cancellationToken) =>
        {
            await using var services = await CliServices.StartAsync(settings, cancellationToken);
            if (await LoadAsync(services, parse.GetValue(name)!, cancellationToken) is not { } v)
            {
                return await UnknownAsync(parse, parse.GetValue(name)!);
            }

            if (parse.GetValue(json))
            {
                CliConsole.WriteJson(parse, v);
                return 0;
            }

            var output = parse.InvocationConfiguration.Output;
            var s = v.Stats;
            output.WriteLine($"subscription  {v.Name} ({Lower(v.Kind)}, {Lower(v.Source)})");
            output.WriteLine($"status        {Lower(v.Status)}{(v.DisabledReason is null ? "" : ": " + v.DisabledReason)}");
            output.WriteLine($"destination   {Destination(v)}");
            output.WriteLine($"filter        events {All(v.Filter.Events)}; installations {All(v.Filter.Installations.Select(i => i.ToString(CultureInfo.InvariantCulture)))}; repositories {All(v.Filter.Repositories)}");
            output.WriteLine($"ordering      {Lower(v.Ordering)}, concurrency {v.Concurrency}");
            output.WriteLine($"retry         {(v.Retry is null ? "Webhooks:* settings" : string.Join(", ", v.Retry.Select(r => r.ToString("c", CultureInfo.InvariantCulture))))}");
            if (v.Timeout is { } t)
            {
                output.WriteLine($"timeout       {t:c}; disabled after failing for {v.DisableAfter:c}");
            }

            output.WriteLine($"backlog       {s.Backlog} ({s.Pending} pending, {s.Processing} processing, {s.Failed} failed)");
            output.WriteLine($"last hour     {s.DeliveredLastHour} delivered, {s.DeadLastHour} dead, success {Rate(s.SuccessRate)}, lag p50 {Millis(s.LagP50Ms)}, p99 {Millis(s.LagP99Ms)}");
            if (s.LastError is { } e)
            {
                output.WriteLine($"last error    {e.Message.Split('\n')[0]} (delivery {e.DeliveryId}, {Lower(e.State)} after {e.Attempts} attempt(s), " +
                    $"{(e.DeadAt is { } at ? $"dead at {at:u}" : $"next attempt {e.NextAttemptAt:u}")})");
            }

            output.WriteLine($"created       {(v.CreatedAt is { } created ? created.ToString("u", CultureInfo.InvariantCulture) : "-")}");
            return 0;
        });
        return command;
    }

    private static Command SetStatus(IReadOnlyDictionary<string, string?>? settings, string verb, string description, SubscriptionStatus status)
    {
        var name = new Argument<string>("name");
        var command = new Command(verb, description) { name };
        command.SetAction(async (parse, cancellationToken) =>
        {
            await using var services = await CliServices.StartAsync(settings, cancellationToken);
            if (!await services.Get<SubscriptionCatalog>().SetStatusAsync(parse.GetValue(name)!, status, reason: null, cancellationToken))
            {
                return await UnknownAsync(parse, parse.GetValue(name)!);
            }

            parse.InvocationConfiguration.Output.WriteLine($"Subscription {parse.GetValue(name)} is {(status == SubscriptionStatus.Active ? "active" : "paused")}.");
            return 0;
        });
        return command;
    }

    private static Command Remove(IReadOnlyDictionary<string, string?>? settings)
    {
        var name = new Argument<string>("name");
        var command = new Command("remove", "Removes a subscription added at run time, with what it was owed.") { name };
        command.SetAction(async (parse, cancellationToken) =>
        {
            await using var services = await CliServices.StartAsync(settings, cancellationToken);
            try
            {
                if (!await services.Get<SubscriptionCatalog>().RemoveAsync(parse.GetValue(name)!, cancellationToken))
                {
                    return await UnknownAsync(parse, parse.GetValue(name)!);
                }
            }
            catch (SubscriptionException e)
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync($"hubgate: {e.Message}");
                return 2;
            }

            parse.InvocationConfiguration.Output.WriteLine($"Subscription {parse.GetValue(name)} is removed.");
            return 0;
        });
        return command;
    }

    private static Command Replay(IReadOnlyDictionary<string, string?>? settings)
    {
        var name = new Argument<string>("name");
        var since = new Option<string>("--since") { Description = "From: an instant (2026-01-31T10:00:00Z) or a duration before now (2h).", Required = true };
        var until = new Option<string?>("--until") { Description = "Until (exclusive), the same way (default: now)." };
        var eventName = new Option<string?>("--event") { Description = "Only this event (push) or event and action (pull_request.closed)." };
        var json = new Option<bool>("--json") { Description = "Print the result as JSON." };
        var command = new Command("replay", "Sends a subscription again the deliveries received in a time range (any state but processing).") { name, since, until, eventName, json };
        command.SetAction(async (parse, cancellationToken) =>
        {
            await using var services = await CliServices.StartAsync(settings, cancellationToken);
            var time = services.Get<TimeProvider>();
            var range = SubscriptionReplay.Parse(parse.GetValue(since), parse.GetValue(until), parse.GetValue(eventName), time.GetUtcNow());
            if (range.Problem is { } problem)
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync($"hubgate: {problem}");
                return 2;
            }

            var subscription = parse.GetValue(name)!;
            if ((await services.Get<SubscriptionCatalog>().RefreshAsync(cancellationToken)).All(s => s.Name != subscription))
            {
                return await UnknownAsync(parse, subscription);
            }

            var requeued = await SubscriptionReplay.RunAsync(services.Get<DeliveryStore>(), services.Get<WorkSignal>(), time, subscription, range, cancellationToken);
            if (parse.GetValue(json))
            {
                CliConsole.WriteJson(parse, new { subscription, since = range.Since, until = range.Until, @event = parse.GetValue(eventName), requeued });
            }
            else
            {
                parse.InvocationConfiguration.Output.WriteLine(
                    $"{requeued} deliveries received {range.Since:u} – {range.Until:u} are queued again for {subscription}.");
            }

            return 0;
        });
        return command;
    }

    private static IDbContextFactory<HubgateDbContext> Databases(CliServices services) => services.Get<IDbContextFactory<HubgateDbContext>>();

    private static Task<SubscriptionView?> LoadAsync(CliServices services, string name, CancellationToken cancellationToken) =>
        SubscriptionView.LoadAsync(services.Get<SubscriptionCatalog>(), Databases(services), services.Get<TimeProvider>(), name, cancellationToken);

    private static async Task<int> UnknownAsync(ParseResult parse, string name)
    {
        await parse.InvocationConfiguration.Error.WriteLineAsync($"hubgate: no subscription named '{name}' (hubgate subscriptions list shows them).");
        return 1;
    }

    private static string Lower<T>(T value) where T : struct, Enum => value.ToString().ToLowerInvariant();

    private static string StatusMarkup(SubscriptionStatus status) => status switch
    {
        SubscriptionStatus.Active => "[green]active[/]",
        SubscriptionStatus.Paused => "[yellow]paused[/]",
        _ => "[red]disabled[/]",
    };

    private static string Destination(SubscriptionView v) => v.Kind switch
    {
        SubscriptionKind.Http => v.Url ?? "",
        SubscriptionKind.Stream => $"/api/subscriptions/{v.Name}/events",
        SubscriptionKind.RabbitMq when v.RabbitMq is { } rabbit => $"{rabbit.Uri} → {rabbit.Exchange} ({rabbit.RoutingKey})",
        _ => "model + in-process handlers",
    };

    private static string Number(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Rate(double? rate) => rate is { } r ? r.ToString("P1", CultureInfo.InvariantCulture) : "-";

    private static string Millis(double? ms) => ms is { } m ? m.ToString("0", CultureInfo.InvariantCulture) + " ms" : "-";

    private static string All(IEnumerable<string> entries) => entries.Any() ? string.Join(", ", entries) : "*";

    private static string Shorten(string? text)
    {
        var line = text?.Split('\n')[0] ?? "";
        return line.Length > 80 ? line[..80] + "…" : line;
    }
}
