using System.CommandLine;
using System.Net.Http.Headers;
using System.Text;
using Hubgate.Apps;
using Hubgate.Webhooks;

namespace Hubgate.Server.Cli;

/// <summary>
/// <c>hubgate sign</c> and <c>hubgate send</c>: a payload signed as GitHub signs it, so anyone can replay a saved
/// payload (<c>tests/fixtures/github-webhooks</c>, a delivery copied from the App's settings page) into a running server.
/// The secret is <c>--secret</c>, else the primary webhook secret of the App <c>--app</c> names (default: <c>default</c>,
/// <c>GitHub:WebhookSecret</c>).
/// </summary>
internal static class PayloadCommands
{
    private const string DefaultUrl = "http://127.0.0.1:5080/webhooks/github";

    public static Command Sign(IReadOnlyDictionary<string, string?>? settings)
    {
        var file = new Argument<string>("file") { Description = "The payload, signed byte for byte as it is on disk." };
        var secret = new Option<string?>("--secret") { Description = "The webhook secret (default: the App's, GitHub:WebhookSecret for default)." };
        var app = AppOption.Create("whose webhook secret signs (and, without --url, whose webhook URL receives) the payload");
        var command = new Command("sign", "Prints the X-Hub-Signature-256 value GitHub would send with FILE.") { file, secret, app };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var (body, webhookSecret, error) = await ReadAsync(parse.GetValue(file)!, parse.GetValue(secret), parse.GetValue(app)!, settings, cancellationToken);
            if (error is not null)
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync($"hubgate: {error}");
                return 2;
            }

            parse.InvocationConfiguration.Output.WriteLine(WebhookSignature.Sign(body!, webhookSecret!));
            return 0;
        });
        return command;
    }

    public static Command Send(IReadOnlyDictionary<string, string?>? settings)
    {
        var file = new Argument<string>("file") { Description = "The payload to deliver (sent byte for byte)." };
        var eventName = new Option<string>("--event") { Description = "The X-GitHub-Event header: push, pull_request, installation, …", Required = true };
        var url = new Option<string?>("--url") { Description = $"Where to deliver it (default {DefaultUrl}, or {DefaultUrl}/APP with --app)." };
        var secret = new Option<string?>("--secret") { Description = "The webhook secret (default: the App's, GitHub:WebhookSecret for default)." };
        var app = AppOption.Create("whose webhook secret signs (and, without --url, whose webhook URL receives) the payload");
        var deliveryId = new Option<string?>("--delivery-id") { Description = "The X-GitHub-Delivery id (default: a fresh GUID, as GitHub sends)." };
        var command = new Command("send", "Delivers FILE to a Hubgate (or any GitHub webhook receiver) exactly as GitHub would: signed, with a fresh delivery id.")
        {
            file, eventName, url, secret, deliveryId, app,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var (body, webhookSecret, error) = await ReadAsync(parse.GetValue(file)!, parse.GetValue(secret), parse.GetValue(app)!, settings, cancellationToken);
            if (error is not null)
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync($"hubgate: {error}");
                return 2;
            }

            var appName = parse.GetValue(app)!;
            var address = parse.GetValue(url) ?? (appName == GitHubApp.DefaultName ? DefaultUrl : $"{DefaultUrl}/{Uri.EscapeDataString(appName)}");
            if (!Uri.TryCreate(address, UriKind.Absolute, out var target) || target.Scheme is not ("http" or "https"))
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync($"hubgate: --url '{address}' is not an http(s) URL.");
                return 2;
            }

            var id = parse.GetValue(deliveryId) ?? Guid.NewGuid().ToString();
            using var request = new HttpRequestMessage(HttpMethod.Post, target) { Content = new ByteArrayContent(body!) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            request.Headers.UserAgent.ParseAdd("GitHub-Hookshot/hubgate-send");
            request.Headers.Add(WebhookReceiver.EventHeader, parse.GetValue(eventName));
            request.Headers.Add(WebhookReceiver.DeliveryHeader, id);
            request.Headers.Add(WebhookSignature.Sha256Header, WebhookSignature.Sign(body!, webhookSecret!));
            request.Headers.Add(WebhookSignature.Sha1Header, WebhookSignature.SignSha1(body!, webhookSecret!)); // GitHub still sends both
            using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(15) };
            try
            {
                using var response = await client.SendAsync(request, cancellationToken);
                var answer = await response.Content.ReadAsStringAsync(cancellationToken);
                parse.InvocationConfiguration.Output.WriteLine($"{(int)response.StatusCode} {response.ReasonPhrase}  delivery {id}  {answer}".TrimEnd());
                return response.IsSuccessStatusCode ? 0 : 1;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync($"hubgate: could not deliver to {address}: {e.Message}");
                return 1;
            }
        });
        return command;
    }

    private static async Task<(byte[]? Body, string? Secret, string? Error)> ReadAsync(string path, string? secret, string app,
        IReadOnlyDictionary<string, string?>? settings, CancellationToken cancellationToken)
    {
        // `dotnet run` (the ./hubgate wrapper) starts in the project folder; the wrapper says where the caller was.
        if (!Path.IsPathRooted(path) && Environment.GetEnvironmentVariable("HUBGATE_WORKDIR") is { Length: > 0 } caller)
        {
            path = Path.Combine(caller, path);
        }

        var file = new FileInfo(path);
        if (!file.Exists)
        {
            return (null, null, $"no such file: {file.FullName}");
        }

        if (string.IsNullOrEmpty(secret))
        {
            await using var services = await CliServices.StartAsync(settings, cancellationToken, migrate: false);
            if (!services.Get<GitHubApps>().TryGet(app, out var named))
            {
                return (null, null, new GitHubAppNotFoundException(app).Message);
            }

            if (named.WebhookSecrets.Count == 0)
            {
                return (null, null, $"no secret: pass --secret or set {WebhookSecretKeys.Primary(named)}.");
            }

            secret = Encoding.UTF8.GetString(named.WebhookSecrets[0]);
        }

        return (await File.ReadAllBytesAsync(file.FullName, cancellationToken), secret, null);
    }
}
