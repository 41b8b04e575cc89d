using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using Hubgate.Authentication;
using Hubgate.Testing;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;

namespace Hubgate.Server.Demo;

/// <summary>
/// The demo's story, told through the real pipeline: deliveries go to the webhook endpoint over HTTP, the worker
/// processes them into the model, and API calls go through the proxy and Octokit to the fake GitHub. Each step says
/// what happened in words and where to look; a step whose outcome is not what Hubgate promises stops the story.
/// </summary>
internal sealed class DemoStory(FakeGitHubServer gitHub, IServiceProvider services, Uri baseUrl, string apiKey, IAnsiConsole console)
{
    private const long InstallationId = 4711;
    private const string Account = "octo-demo";
    private static readonly TimeSpan ProcessingBound = TimeSpan.FromSeconds(30);
    private readonly TimeProvider _time = services.GetRequiredService<TimeProvider>();

    public async Task PlayAsync(CancellationToken cancellationToken)
    {
        var app = gitHub.PrimaryApp;
        gitHub.InstallApp(app.Id, InstallationId, Account);
        var website = gitHub.AddRepository(InstallationId, 9001, Account, "website");
        var api = gitHub.AddRepository(InstallationId, 9002, Account, "api");
        gitHub.AddRepository(InstallationId, 9003, Account, "docs");
        using var hubgate = new HttpClient { BaseAddress = baseUrl, Timeout = TimeSpan.FromSeconds(30) };
        hubgate.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        var clock = Stopwatch.StartNew();

        Step(1, $"The App \"{app.Name}\" (id {app.Id}) is installed on {Account} with 3 repositories: GitHub sends the installation webhook.");
        var installed = await DeliverAsync(hubgate, "installation", gitHub.InstallationCreatedPayload(InstallationId), cancellationToken);
        Done(installed, $"Installation {InstallationId} and its repositories are in Hubgate's model: {Link($"/api/installations/{InstallationId}")}");

        Step(2, $"Someone pushes 3 commits to {website.FullName}: the push webhook.");
        var pushed = await DeliverAsync(hubgate, "push", gitHub.Push(InstallationId, website, "main", 3, _time.GetUtcNow()), cancellationToken);
        await ExpectCommitsAsync(hubgate, website.Id, 3, cancellationToken);
        Done(pushed, $"The push and its 3 commits are in the model: {Link($"/api/repositories/{website.Id}/commits")}");

        Step(3, $"A pull request is opened on {website.FullName}: the pull_request webhook (action opened).");
        gitHub.Push(InstallationId, website, "feature/readme", 1, _time.GetUtcNow());
        var opened = await DeliverAsync(hubgate, "pull_request",
            gitHub.PullRequestPayload(InstallationId, website, 1, "opened", "Explain the demo in the README", "feature/readme", merged: false, _time.GetUtcNow()),
            cancellationToken);
        Done(opened, $"Pull request #1 is open in the model: {Link($"/api/repositories/{website.Id}/pulls")}");

        Step(4, "The pull request is merged: the pull_request webhook (action closed, merged).");
        var merged = await DeliverAsync(hubgate, "pull_request",
            gitHub.PullRequestPayload(InstallationId, website, 1, "closed", "Explain the demo in the README", "feature/readme", merged: true, _time.GetUtcNow().AddSeconds(1)),
            cancellationToken);
        var state = await PullRequestStateAsync(hubgate, website.Id, 1, cancellationToken);
        if (state != "merged")
        {
            throw new DemoException($"Pull request #1 should be merged in the model, but it is '{state}'.");
        }

        Done(merged, $"Pull request #1 is merged in the model: {Link($"/api/repositories/{website.Id}/pulls")}");

        Step(5, $"A service calls GitHub through Hubgate's proxy with its Hubgate key only: GET /proxy/installations/{InstallationId}/repos/{website.FullName}.");
        gitHub.ResetRequests();
        using (var response = await hubgate.GetAsync(new Uri($"/proxy/installations/{InstallationId}/repos/{website.FullName}", UriKind.Relative), cancellationToken))
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                throw new DemoException($"The proxy answered {(int)response.StatusCode}: {body}");
            }

            using var json = JsonDocument.Parse(body);
            console.MarkupLine($"   GitHub's answer came back through the proxy: {Markup.Escape(json.RootElement.GetProperty("full_name").GetString() ?? "?")} " +
                               $"(default branch {Markup.Escape(json.RootElement.GetProperty("default_branch").GetString() ?? "?")}).");
        }

        console.MarkupLine($"   What GitHub saw: {Markup.Escape(Describe(gitHub.Requests))}. The caller never held a GitHub credential.");

        Step(6, "The same from .NET code, with Octokit from GitHubClientFactory (the installation's token is minted, cached and refreshed for it).");
        var octokit = services.GetRequiredService<GitHubClientFactory>().ForInstallation(InstallationId);
        var listed = await octokit.GitHubApps.Installation.GetAllRepositoriesForCurrent();
        console.MarkupLine($"   Octokit listed the installation's repositories: {Markup.Escape(string.Join(", ", listed.Repositories.Select(r => r.FullName)))}.");

        Step(7, $"A push of 2,100 commits to {api.FullName}: GitHub lists only 2,048 in the payload, so Hubgate asks the compare API for the rest — " +
                "and this time GitHub answers 502.");
        gitHub.Push(InstallationId, api, "main", 1, _time.GetUtcNow().AddDays(-1)); // the repository's earlier history, known to GitHub only
        // Four answers: the handler's own three quick retries of a 5xx also fail, so the delivery's first attempt fails.
        gitHub.FailNext("GET", $"/repos/{api.FullName}/compare/*", FakeFailure.BadGateway, times: 4);
        var big = await DeliverAsync(hubgate, "push", gitHub.Push(InstallationId, api, "main", 2100, _time.GetUtcNow()), cancellationToken);
        if (big.Attempts < 2)
        {
            throw new DemoException($"Delivery {big.Id} should have failed once and been retried, but it took {big.Attempts} attempt(s).");
        }

        await ExpectCommitsAsync(hubgate, api.Id, 2100, cancellationToken);
        Done(big, $"The worker retried it; GitHub answered this time and all 2,100 commits are in the model: {Link($"/api/repositories/{api.Id}/commits")}");
        console.MarkupLine($"   ({clock.Elapsed.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s for the whole story.)");
    }

    private void Step(int number, string text) => console.MarkupLine($"[bold]{number}.[/] {Markup.Escape(text)}");

    private void Done(Outcome outcome, string text)
    {
        console.MarkupLine($"   Delivery {Markup.Escape(outcome.Id)}: accepted with {outcome.Status}, [green]{Markup.Escape(outcome.State)}[/] " +
                           $"after {outcome.Attempts} attempt(s). {text}");
        console.MarkupLine($"   Look: {Link($"/deliveries/{outcome.Id}?app=default")}");
    }

    private string Link(string path) => Markup.Escape(new Uri(baseUrl, path).AbsoluteUri);

    /// <summary>Sends the delivery to Hubgate's webhook endpoint as GitHub would, then waits (bounded) until the worker is done with it.</summary>
    private async Task<Outcome> DeliverAsync(HttpClient hubgate, string @event, byte[] payload, CancellationToken cancellationToken)
    {
        var sent = await gitHub.SendDeliveryAsync(new Uri(baseUrl, "/webhooks/github"), @event, payload, cancellationToken: cancellationToken);
        if (sent.StatusCode != 202)
        {
            throw new DemoException($"Hubgate answered {sent.StatusCode} to the {@event} delivery: {sent.Body}");
        }

        var waited = Stopwatch.StartNew();
        string? firstError = null;
        while (true)
        {
            using var detail = JsonDocument.Parse(await hubgate.GetStringAsync(new Uri($"/api/deliveries/{sent.DeliveryId}", UriKind.Relative), cancellationToken));
            var delivery = detail.RootElement.GetProperty("delivery");
            var state = delivery.GetProperty("state").GetString() ?? "?";
            var attempts = delivery.GetProperty("attempts").GetInt32();
            if (state == "failed" && firstError is null)
            {
                firstError = delivery.GetProperty("lastError").GetString()?.Split('\n')[0].TrimEnd('.');
                console.MarkupLine($"   Attempt {attempts} failed: {Markup.Escape(firstError ?? "?")}. The delivery is kept and will be retried.");
            }

            if (state is "processed" or "ignored")
            {
                return new Outcome(sent.DeliveryId, sent.StatusCode, state, attempts);
            }

            if (state == "dead" || waited.Elapsed > ProcessingBound)
            {
                throw new DemoException($"Delivery {sent.DeliveryId} ({@event}) is {state} after {attempts} attempt(s): " +
                                        $"{delivery.GetProperty("lastError").GetString() ?? "no error recorded"}");
            }

            await Task.Delay(200, cancellationToken);
        }
    }

    /// <summary>Counts the repository's commits in the model through the API (bounded pages) and stops the story if they are not all there.</summary>
    private static async Task ExpectCommitsAsync(HttpClient hubgate, long repositoryId, int expected, CancellationToken cancellationToken)
    {
        var count = 0;
        long? before = null;
        for (var page = 0; page < 20; page++)
        {
            var query = before is { } b ? $"&before={b.ToString(CultureInfo.InvariantCulture)}" : "";
            using var json = JsonDocument.Parse(await hubgate.GetStringAsync(
                new Uri($"/api/repositories/{repositoryId}/commits?limit=500{query}", UriKind.Relative), cancellationToken));
            count += json.RootElement.GetProperty("commits").GetArrayLength();
            if (json.RootElement.GetProperty("nextBefore").ValueKind != JsonValueKind.Number)
            {
                break;
            }

            before = json.RootElement.GetProperty("nextBefore").GetInt64();
        }

        if (count != expected)
        {
            throw new DemoException($"Repository {repositoryId} should have {expected} commits in the model, but the API lists {count}.");
        }
    }

    private static async Task<string?> PullRequestStateAsync(HttpClient hubgate, long repositoryId, int number, CancellationToken cancellationToken)
    {
        using var page = JsonDocument.Parse(await hubgate.GetStringAsync(new Uri($"/api/repositories/{repositoryId}/pulls", UriKind.Relative), cancellationToken));
        return page.RootElement.GetProperty("pulls").EnumerateArray()
            .Where(p => p.GetProperty("number").GetInt32() == number)
            .Select(p => p.GetProperty("state").GetString())
            .FirstOrDefault();
    }

    private static string Describe(IReadOnlyList<RecordedRequest> requests) =>
        string.Join(", then ", requests.Select(r => $"{r.Method} {r.Path} with {r.Credential switch
        {
            FakeCredential.Jwt => "the App's JWT",
            FakeCredential.InstallationToken => "an installation token",
            FakeCredential.None => "no credential",
            _ => "a refused credential",
        }} → {r.Status}"));

    private sealed record Outcome(string Id, int Status, string State, int Attempts);
}
