using System.CommandLine;
using Hubgate.Server.Access;
using Spectre.Console;

namespace Hubgate.Server.Cli;

/// <summary>
/// <c>hubgate clients add|list|rotate|remove</c>: the clients kept in the database. A new key goes to stdout alone (so
/// <c>KEY=$(hubgate clients add ci)</c> works), once; only its SHA-256 is stored.
/// </summary>
internal static class ClientCommands
{
    private const string Actor = "the hubgate clients command";

    public static Command Create(IReadOnlyDictionary<string, string?>? settings)
    {
        var clients = new Command("clients", "Clients of the proxy and the API kept in the database (those in Hubgate:Clients are listed too).");
        clients.Subcommands.Add(Add(settings));
        clients.Subcommands.Add(List(settings));
        clients.Subcommands.Add(Rotate(settings));
        clients.Subcommands.Add(Remove(settings));
        return clients;
    }

    private static Command Add(IReadOnlyDictionary<string, string?>? settings)
    {
        var name = new Argument<string>("name") { Description = "Lower-case letters, digits, '.', '_' or '-'." };
        var installations = new Option<string[]>("--installation") { Description = "An installation id or account login (repeat; none = all)." };
        var repositories = new Option<string[]>("--repository") { Description = "owner/name or a repository id (repeat; none = all the installation has)." };
        var permissions = new Option<string[]>("--permission") { Description = "The most it may use, as name:level (contents:read); repeat for more (none = the installation's own)." };
        var streams = new Option<string[]>("--stream") { Description = "A stream subscription whose deliveries it may read and acknowledge (repeat; none = none)." };
        var app = AppOption.Create("the client is held to (its routes, installations and tokens)");
        var appAccess = new Option<AppRight>("--app-access") { Description = "What it may do as its App on /proxy/app/: none, read or admin.", DefaultValueFactory = _ => AppRight.None };
        var tokens = new Option<bool>("--tokens") { Description = "May have installation tokens vended to it." };
        var admin = new Option<bool>("--admin") { Description = "May use the management API and the dashboard." };
        var json = new Option<bool>("--json") { Description = "Print {client, key} as JSON." };
        var command = new Command("add", "Adds a client with a new key, printed once.") { name, installations, repositories, permissions, streams, app, appAccess, tokens, admin, json };
        command.SetAction(async (parse, cancellationToken) =>
        {
            Dictionary<string, string> grants;
            try
            {
                grants = CredentialCommands.Permissions(parse.GetValue(permissions) ?? []);
            }
            catch (ArgumentException e)
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync($"hubgate: {e.Message}");
                return 2;
            }

            await using var services = await CliServices.StartAsync(settings, cancellationToken);
            if (await AppOption.ResolveAsync(parse, app, services) is not { } heldTo)
            {
                return 2;
            }

            var policy = new ClientOptions
            {
                Installations = [.. parse.GetValue(installations) ?? []],
                Repositories = [.. parse.GetValue(repositories) ?? []],
                Permissions = grants,
                Streams = [.. parse.GetValue(streams) ?? []],
                App = heldTo.Name,
                AppAccess = parse.GetValue(appAccess),
                Tokens = parse.GetValue(tokens),
                Admin = parse.GetValue(admin),
            };
            return await WriteAsync(parse, await services.Get<ClientStore>().AddAsync(parse.GetValue(name)!, policy, Actor, cancellationToken), parse.GetValue(json));
        });
        return command;
    }

    private static Command List(IReadOnlyDictionary<string, string?>? settings)
    {
        var json = new Option<bool>("--json") { Description = "Print JSON instead of a table." };
        var command = new Command("list", "Lists every client, configured and stored, with its policy (never a key).") { json };
        command.SetAction(async (parse, cancellationToken) =>
        {
            await using var services = await CliServices.StartAsync(settings, cancellationToken);
            var list = await services.Get<ClientStore>().ListAsync(cancellationToken);
            if (parse.GetValue(json))
            {
                CliConsole.WriteJson(parse, list);
                return 0;
            }

            var table = new Table().AddColumns("name", "source", "installations", "repositories", "streams", "app", "app access", "tokens", "admin", "key issued (UTC)");
            foreach (var c in list)
            {
                table.AddRow(Markup.Escape(c.Name), c.Source.ToString().ToLowerInvariant(), Markup.Escape(All(c.Installations)), Markup.Escape(All(c.Repositories)),
                    Markup.Escape(c.Streams.Count == 0 ? "—" : string.Join(", ", c.Streams)), c.App, c.AppAccess.ToString().ToLowerInvariant(), c.Tokens ? "yes" : "no", c.Admin ? "yes" : "no", c.KeyIssuedAt?.ToString("u", System.Globalization.CultureInfo.InvariantCulture) ?? "");
            }

            var console = CliConsole.For(parse);
            console.Write(table);
            console.WriteLine($"{list.Count} clients.");
            return 0;
        });
        return command;
    }

    private static Command Rotate(IReadOnlyDictionary<string, string?>? settings)
    {
        var name = new Argument<string>("name");
        var json = new Option<bool>("--json") { Description = "Print {client, key} as JSON." };
        var command = new Command("rotate", "Gives a stored client a new key, printed once; the old key and its dashboard sessions stop working at once.") { name, json };
        command.SetAction(async (parse, cancellationToken) =>
        {
            await using var services = await CliServices.StartAsync(settings, cancellationToken);
            return await WriteAsync(parse, await services.Get<ClientStore>().RotateAsync(parse.GetValue(name)!, Actor, cancellationToken), parse.GetValue(json));
        });
        return command;
    }

    private static Command Remove(IReadOnlyDictionary<string, string?>? settings)
    {
        var name = new Argument<string>("name");
        var command = new Command("remove", "Removes a stored client; its key and dashboard sessions stop working at once.") { name };
        command.SetAction(async (parse, cancellationToken) =>
        {
            await using var services = await CliServices.StartAsync(settings, cancellationToken);
            var change = await services.Get<ClientStore>().RemoveAsync(parse.GetValue(name)!, Actor, cancellationToken);
            if (change.Error is null)
            {
                parse.InvocationConfiguration.Output.WriteLine($"Client {parse.GetValue(name)!.ToLowerInvariant()} is removed.");
            }

            return await WriteAsync(parse, change, json: false);
        });
        return command;
    }

    private static async Task<int> WriteAsync(ParseResult parse, ClientChange change, bool json)
    {
        if (change.Error is not null)
        {
            await parse.InvocationConfiguration.Error.WriteLineAsync($"hubgate: {change.Message}");
            return change.Error == ClientChangeError.NotFound ? 1 : 2;
        }

        if (change.Key is { } key)
        {
            await parse.InvocationConfiguration.Error.WriteLineAsync(
                $"The key of client {change.Client!.Name} follows; it is shown this once (only its SHA-256 is stored). Keep it in a secret store.");
            if (json)
            {
                CliConsole.WriteJson(parse, new { client = change.Client, key });
            }
            else
            {
                parse.InvocationConfiguration.Output.WriteLine(key);
            }
        }

        return 0;
    }

    private static string All(IReadOnlyList<string> entries) => entries.Count == 0 ? "*" : string.Join(", ", entries);
}
