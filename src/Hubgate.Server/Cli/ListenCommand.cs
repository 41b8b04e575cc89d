using System.CommandLine;
using Hubgate.Webhooks.Subscriptions;

namespace Hubgate.Server.Cli;

/// <summary>
/// <c>hubgate listen</c>: reads a <c>Stream</c> subscription of a running Hubgate (anywhere: the connection goes out, no
/// port is opened on the listener's machine), prints each delivery or forwards it to a local URL signed as GitHub signs,
/// and acknowledges it once printed or forwarded, so that a listener started again resumes where it stopped.
/// </summary>
internal static class ListenCommand
{
    /// <summary>Where the client key is read from when <c>--key</c> is not given (a key on the command line is visible to other users of the machine).</summary>
    public const string KeyVariable = "HUBGATE_KEY";

    private const string DefaultServer = "http://127.0.0.1:5080";

    public static Command Create()
    {
        var subscription = new Option<string>("--subscription") { Description = "The Stream subscription to read.", Required = true };
        var after = new Option<long?>("--after") { Description = "Start after this delivery sequence (default: after the last acknowledged)." };
        var forward = new Option<string?>("--forward") { Description = "POST each delivery to this URL, signed with --secret as GitHub signs (e.g. http://localhost:3000/api/webhook)." };
        var secret = new Option<string?>("--secret") { Description = "The local receiver's webhook secret (with --forward)." };
        var server = new Option<string>("--from") { Description = $"The Hubgate to read from, anywhere: the listener connects out (default {DefaultServer}).", DefaultValueFactory = _ => DefaultServer };
        var key = new Option<string?>("--key") { Description = $"A client key allowed to read the subscription (default: ${KeyVariable})." };
        var command = new Command("listen",
            "Prints each delivery of a Stream subscription (or forwards it with --forward), acknowledging each; reconnects after a drop and resumes where it stopped. Ctrl+C stops.")
        {
            subscription, after, forward, secret, server, key,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var error = parse.InvocationConfiguration.Error;
            var name = parse.GetValue(subscription)!;
            if (SubscriptionValidation.NameProblem(name) is { } badName)
            {
                await error.WriteLineAsync($"hubgate listen: --subscription {badName}.");
                return 2;
            }

            if (!Uri.TryCreate(parse.GetValue(server), UriKind.Absolute, out var hubgate) || hubgate.Scheme is not ("http" or "https"))
            {
                await error.WriteLineAsync($"hubgate listen: --from '{parse.GetValue(server)}' is not an http(s) URL.");
                return 2;
            }

            var apiKey = parse.GetValue(key) ?? Environment.GetEnvironmentVariable(KeyVariable);
            if (string.IsNullOrEmpty(apiKey))
            {
                await error.WriteLineAsync($"hubgate listen: no client key: set ${KeyVariable} (or pass --key).");
                return 2;
            }

            StreamForwarding? forwarding = null;
            if (parse.GetValue(forward) is { } target)
            {
                if (!Uri.TryCreate(target, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
                {
                    await error.WriteLineAsync($"hubgate listen: --forward '{target}' is not an http(s) URL.");
                    return 2;
                }

                if (SubscriptionKey.ForReceiver(parse.GetValue(secret)) is not { } signingKey)
                {
                    await error.WriteLineAsync("hubgate listen: --forward needs --secret, the local receiver's webhook secret (whsec_… must be base64 after the prefix).");
                    return 2;
                }

                forwarding = new StreamForwarding(url, signingKey);
            }
            else if (parse.GetValue(secret) is not null)
            {
                await error.WriteLineAsync("hubgate listen: --secret is for --forward.");
                return 2;
            }

            using var listener = new StreamListener(hubgate, name, apiKey, forwarding, parse.InvocationConfiguration.Output, error, TimeProvider.System);
            return await listener.RunAsync(parse.GetValue(after), cancellationToken);
        });
        return command;
    }
}
