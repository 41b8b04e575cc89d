using System.CommandLine;
using Hubgate.Authentication;
using Microsoft.Extensions.Options;

namespace Hubgate.Server.Cli;

/// <summary>
/// <c>hubgate jwt</c> and <c>hubgate token &lt;installation-id&gt;</c>: credentials for use with curl. Both are secrets;
/// they go to stdout alone (so <c>$(hubgate token 42)</c> works) and <c>token</c> warns on stderr.
/// </summary>
internal static class CredentialCommands
{
    public static Command Jwt(IReadOnlyDictionary<string, string?>? settings)
    {
        var command = new Command("jwt", "Prints an App JWT (RS256, valid 9 minutes) for the App routes: curl -H \"Authorization: Bearer $(hubgate jwt)\" …");
        command.SetAction(async (parse, cancellationToken) =>
        {
            await using var services = await CliServices.StartAsync(settings, cancellationToken, migrate: false);
            try
            {
                parse.InvocationConfiguration.Output.WriteLine(services.Get<AppJwtFactory>().GetJwt());
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
        var command = new Command("token", "Prints an installation token (cached and persisted like the service's own; minted when needed).") { id, json };
        command.SetAction(async (parse, cancellationToken) =>
        {
            await using var services = await CliServices.StartAsync(settings, cancellationToken);
            InstallationToken token;
            try
            {
                token = await services.Get<InstallationTokenProvider>().GetTokenAsync(parse.GetValue(id), cancellationToken);
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
}
