using System.CommandLine;
using System.Globalization;
using Hubgate.Authentication;
using Hubgate.Server.Access;
using Microsoft.Extensions.Options;

namespace Hubgate.Server.Cli;

/// <summary>
/// <c>hubgate jwt</c> and <c>hubgate token &lt;installation-id&gt;</c>: credentials for use with curl. Both are secrets;
/// they go to stdout alone (so <c>$(hubgate token 42)</c> works) and <c>token</c> warns on stderr. A token may be
/// down-scoped (<c>--repository</c>, <c>--permission</c>); every token printed is recorded in the audit as client
/// <c>cli</c> (<c>hubgate audit</c>).
/// </summary>
internal static class CredentialCommands
{
    public static Command Jwt(IReadOnlyDictionary<string, string?>? settings)
    {
        var appName = AppOption.Create("whose JWT to sign");
        var command = new Command("jwt", "Prints an App JWT (RS256, valid 9 minutes) for the App routes: curl -H \"Authorization: Bearer $(hubgate jwt)\" …") { appName };
        command.SetAction(async (parse, cancellationToken) =>
        {
            await using var services = await CliServices.StartAsync(settings, cancellationToken, migrate: false);
            try
            {
                if (await AppOption.ResolveAsync(parse, appName, services) is not { } app)
                {
                    return 2;
                }

                parse.InvocationConfiguration.Output.WriteLine(app.Jwts.GetJwt());
                return 0;
            }
            catch (Exception e) when (e is GitHubAppNotConfiguredException or AppPrivateKeyException or OptionsValidationException)
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync($"hubgate: {e.Message}");
                return 1;
            }
        });
        return command;
    }

    public static Command Token(IReadOnlyDictionary<string, string?>? settings)
    {
        var id = new Argument<long>("installation-id") { Description = "The installation's id (see `hubgate sync` or GET /api/installations)." };
        var json = new Option<bool>("--json") { Description = "Print {token, expiresAt, permissions, repositorySelection} as JSON." };
        var repositories = new Option<string[]>("--repository")
        {
            Description = "Limit the token to this repository of the installation (name, owner/name or id); repeat for more.",
        };
        var permissions = new Option<string[]>("--permission") { Description = "Limit the token to this permission, as name:level (contents:read); repeat for more." };
        var appName = AppOption.Create("whose installation it is");
        var command = new Command("token", "Prints an installation token (cached and persisted like the service's own; minted when needed).")
            { id, json, repositories, permissions, appName };
        command.SetAction(async (parse, cancellationToken) =>
        {
            InstallationTokenScope scope;
            try
            {
                scope = Scope(parse.GetValue(repositories) ?? [], parse.GetValue(permissions) ?? []);
            }
            catch (ArgumentException e)
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync($"hubgate: {e.Message}");
                return 2;
            }

            await using var services = await CliServices.StartAsync(settings, cancellationToken);
            InstallationToken token;
            try
            {
                if (await AppOption.ResolveAsync(parse, appName, services) is not { } app)
                {
                    return 2;
                }

                token = await app.Tokens.GetTokenAsync(parse.GetValue(id), scope, cancellationToken);
                await Audit(services).RecordAsync("cli", app.Name, parse.GetValue(id), scope, token.ExpiresAt, cancellationToken);
            }
            catch (Exception e) when (e is GitHubApiException or GitHubAppNotConfiguredException or AppPrivateKeyException or OptionsValidationException
                                          or InstallationNotFoundException or InstallationSuspendedException or HttpRequestException)
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync($"hubgate: {e.Message}");
                return 1;
            }

            await parse.InvocationConfiguration.Error.WriteLineAsync(
                $"warning: this is a secret — anyone holding it acts as the App on installation {parse.GetValue(id)} until {token.ExpiresAt:u}. Do not paste it anywhere.");
            if (parse.GetValue(json))
            {
                CliConsole.WriteJson(parse, new
                {
                    token = token.Token,
                    expiresAt = token.ExpiresAt,
                    permissions = token.PermissionsJson is { } p ? System.Text.Json.JsonDocument.Parse(p).RootElement : (System.Text.Json.JsonElement?)null,
                    repositorySelection = token.RepositorySelection,
                });
            }
            else
            {
                parse.InvocationConfiguration.Output.WriteLine(token.Token);
            }

            return 0;
        });
        return command;
    }

    /// <summary><c>hubgate audit</c>: the token vends, newest first (client, installation, scope, expiry; never a token).</summary>
    public static Command AuditList(IReadOnlyDictionary<string, string?>? settings)
    {
        var limit = new Option<int>("--limit") { Description = "At most this many, newest first.", DefaultValueFactory = _ => 50 };
        var json = new Option<bool>("--json") { Description = "Print the vends as JSON." };
        var onlyApp = new Option<string?>("--app") { Description = "Only the tokens of this App (default: every App's)." };
        var command = new Command("audit", "Lists the installation tokens vended (API and hubgate token): client, App, installation, scope, expiry.")
        {
            limit, onlyApp, json,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            await using var services = await CliServices.StartAsync(settings, cancellationToken);
            if (!await AppOption.CheckFilterAsync(parse, parse.GetValue(onlyApp), services, cancellationToken))
            {
                return 2;
            }

            var vends = await Audit(services).ListAsync(parse.GetValue(onlyApp), Math.Max(1, parse.GetValue(limit)), cancellationToken);
            if (parse.GetValue(json))
            {
                CliConsole.WriteJson(parse, vends);
                return 0;
            }

            foreach (var v in vends)
            {
                parse.InvocationConfiguration.Output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{v.VendedAt:u}  {v.Client}  App {v.App} installation {v.InstallationId}  expires {v.ExpiresAt:u}  {(v.Scope.Length == 0 ? "(the installation's own scope)" : v.Scope)}"));
            }

            return 0;
        });
        return command;
    }

    private static TokenVendLog Audit(CliServices services) =>
        new(services.Get<Microsoft.EntityFrameworkCore.IDbContextFactory<Hubgate.Storage.HubgateDbContext>>(), services.Get<TimeProvider>(),
            services.Get<ILogger<TokenVendLog>>());

    /// <summary>The scope of <c>--repository</c> (name, owner/name — the owner is the installation's account — or id) and <c>--permission</c> (name:level).</summary>
    internal static InstallationTokenScope Scope(IEnumerable<string> repositories, IEnumerable<string> permissions)
    {
        var names = new List<string>();
        var ids = new List<long>();
        foreach (var repository in repositories)
        {
            if (long.TryParse(repository, NumberStyles.None, CultureInfo.InvariantCulture, out var repositoryId))
            {
                ids.Add(repositoryId);
            }
            else
            {
                names.Add(repository[(repository.IndexOf('/', StringComparison.Ordinal) + 1)..]);
            }
        }

        return InstallationTokenScope.Create(names, ids, Permissions(permissions));
    }

    /// <summary>Each <c>--permission</c> as name:level (<c>contents:read</c>); <see cref="ArgumentException"/> naming one that is not.</summary>
    internal static Dictionary<string, string> Permissions(IEnumerable<string> permissions)
    {
        var grants = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var permission in permissions)
        {
            if (permission.Split(':', 2) is not [var name, var level] || name.Trim().Length == 0 || level.Trim().Length == 0)
            {
                throw new ArgumentException($"--permission {permission}: write it as name:level, e.g. contents:read.");
            }

            grants[name.Trim()] = level.Trim();
        }

        return grants;
    }
}
