using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using Hubgate.Testing;
using Hubgate.Authentication;
using Hubgate.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Hubgate.Tests.Authentication;

/// <summary>
/// Rate limits end to end against the fake GitHub, on a fully fake clock: a wait is scheduled on the clock, the test
/// moves our clock and GitHub's together by what Hubgate said it would wait, and checks what reached GitHub and when.
/// </summary>
public sealed class GitHubRateLimitGateTests
{
    private const string Repository = "/repos/acme/api";
    private static readonly Uri RepositoryUri = new("repos/acme/api", UriKind.Relative);

    private static CancellationToken Timeout => new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token;

    private static async Task<GitHubAppHarness> StartAsync(string maxRateLimitWait)
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var h = await GitHubAppHarness.StartAsync(
            s =>
            {
                s["GitHub:MaxRateLimitWait"] = maxRateLimitWait;
                s["GitHub:RequestTimeout"] = "00:00:10";
            },
            time: time,
            configure: s =>
            {
                s.AddSingleton<TimeProvider>(time); // timers too: waits elapse only when the test moves the clock
                s.AddHttpClient("acme").AddGitHubAppAuthentication(installationId: 1);
            });
        h.GitHub.AddInstallation(1, "acme");
        h.GitHub.AddRepository(1, 100, "acme", "api");
        return h;
    }

    private static HttpClient Client(GitHubAppHarness h) => h.Services.Get<IHttpClientFactory>().CreateClient("acme");

    /// <summary>
    /// Lets <paramref name="pending"/> run; each time Hubgate logs that it waits for a rate limit, moves GitHub's clock
    /// and then ours past that wait (GitHub's first, so the request the wait releases finds GitHub there already).
    /// </summary>
    private static async Task<T> DriveAsync<T>(GitHubAppHarness h, Task<T> pending)
    {
        var handled = 0;
        for (var i = 0; i < 3000 && !pending.IsCompleted; i++)
        {
            var waits = h.Services.Logs.GetSnapshot().Where(r => r.Id.Id == 321).ToList();
            for (; handled < waits.Count; handled++)
            {
                var seconds = Convert.ToDouble(waits[handled].StructuredState!.Single(kv => kv.Key == "Seconds").Value, CultureInfo.InvariantCulture);
                var by = TimeSpan.FromSeconds(Math.Ceiling(seconds) + 1);
                h.GitHub.Clock.Offset += by;
                h.Services.Time.Advance(by);
            }

            await Task.Delay(20);
        }

        return await pending.WaitAsync(TimeSpan.FromSeconds(30));
    }

    private static List<RecordedRequest> RequestsTo(GitHubAppHarness h, string path) => [.. h.GitHub.Requests.Where(r => r.Path == path)];

    private static int Waits(GitHubAppHarness h) => h.Services.Logs.GetSnapshot().Count(r => r.Id.Id == 321);

    [Fact]
    public async Task KnownEmptyBucket_WaitsPastTheAttemptTimeoutForTheReset_ThenSendsOnce()
    {
        await using var h = await StartAsync(maxRateLimitWait: "00:01:00");
        var reset = h.GitHub.Clock.UtcNow.AddSeconds(15);
        h.GitHub.SetRateLimit(1, limit: 5000, remaining: 1, reset);
        (await Client(h).GetAsync(RepositoryUri, Timeout)).Dispose(); // the last request of the window: GitHub says 0 left
        h.GitHub.ResetRequests();

        using var response = await DriveAsync(h, Client(h).GetAsync(RepositoryUri, Timeout));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var sent = Assert.Single(RequestsTo(h, Repository));
        Assert.Equal(200, sent.Status);
        Assert.True(sent.At >= reset, $"sent at {sent.At:O}, before the reset at {reset:O}");
        Assert.Equal(1, Waits(h));
    }

    [Fact]
    public async Task PrimaryLimitAnswer_WaitsForTheReset_ThenOneMoreRequest()
    {
        await using var h = await StartAsync(maxRateLimitWait: "00:01:00");
        var reset = h.GitHub.Clock.UtcNow.AddSeconds(15);
        h.GitHub.SetRateLimit(1, limit: 5000, remaining: 0, reset);

        using var response = await DriveAsync(h, Client(h).GetAsync(RepositoryUri, Timeout));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var sent = RequestsTo(h, Repository);
        Assert.Equal([403, 200], sent.Select(r => r.Status));
        Assert.True(sent[1].At >= reset, $"sent again at {sent[1].At:O}, before the reset at {reset:O}");
    }

    [Fact]
    public async Task KnownEmptyBucket_NoWaitAllowed_ThrowsWithoutSending()
    {
        await using var h = await StartAsync(maxRateLimitWait: "00:00:00");
        h.GitHub.SetRateLimit(1, limit: 5000, remaining: 0, h.GitHub.Clock.UtcNow.AddMinutes(20));
        await Assert.ThrowsAsync<GitHubRateLimitException>(() => Client(h).GetAsync(RepositoryUri, Timeout));

        var again = await Assert.ThrowsAsync<GitHubRateLimitException>(() => Client(h).GetAsync(RepositoryUri, Timeout));

        Assert.Single(RequestsTo(h, Repository));
        Assert.False(again.IsSecondary);
        Assert.Null(again.StatusCode);
        Assert.Contains("did not send", again.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SecondaryLimit403WithoutRetryAfter_IsARateLimitNotAPermissionError_AndHoldsLaterRequests()
    {
        await using var h = await StartAsync(maxRateLimitWait: "00:00:00");
        h.GitHub.BlockSecondary(1, TimeSpan.FromSeconds(30));

        var ex = await Assert.ThrowsAsync<GitHubRateLimitException>(() => Client(h).GetAsync(RepositoryUri, Timeout));
        var again = await Assert.ThrowsAsync<GitHubRateLimitException>(() => Client(h).GetAsync(RepositoryUri, Timeout));

        Assert.True(ex.IsSecondary);
        Assert.Equal(HttpStatusCode.Forbidden, ex.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(60), ex.RetryAfter); // no Retry-After: at least a minute
        Assert.Contains("secondary rate limit", ex.Message, StringComparison.Ordinal);
        Assert.True(again.IsSecondary);
        Assert.Null(again.StatusCode);
        Assert.Equal(1, h.GitHub.RequestsWhileSecondaryLimited);
    }

    [Fact]
    public async Task SecondaryLimit429WithoutRetryAfter_IsNeverRetriedOnTheTransientSchedule()
    {
        await using var h = await StartAsync(maxRateLimitWait: "00:00:00");
        h.GitHub.BlockSecondary(1, TimeSpan.FromSeconds(30), FakeSecondaryLimit.TooManyRequests);

        var ex = await Assert.ThrowsAsync<GitHubRateLimitException>(() => Client(h).GetAsync(RepositoryUri, Timeout));

        Assert.True(ex.IsSecondary);
        Assert.Equal(HttpStatusCode.TooManyRequests, ex.StatusCode);
        Assert.Single(RequestsTo(h, Repository));
    }

    [Fact]
    public async Task SecondaryLimitWithRetryAfter_WaitsThatLong_ThenSucceeds()
    {
        await using var h = await StartAsync(maxRateLimitWait: "00:01:00");
        h.GitHub.BlockSecondary(1, TimeSpan.FromSeconds(20), FakeSecondaryLimit.TooManyRequestsWithRetryAfter);

        using var response = await DriveAsync(h, Client(h).GetAsync(RepositoryUri, Timeout));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var sent = RequestsTo(h, Repository);
        Assert.Equal([429, 200], sent.Select(r => r.Status));
        Assert.InRange(sent[1].At - sent[0].At, TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(59));
        Assert.Equal(1, h.GitHub.RequestsWhileSecondaryLimited);
    }

    [Fact]
    public async Task SecondaryLimitThatPersists_BacksOffExponentiallyFromAMinute()
    {
        await using var h = await StartAsync(maxRateLimitWait: "00:05:00");
        h.GitHub.BlockSecondary(1, TimeSpan.FromSeconds(90));

        using var response = await DriveAsync(h, Client(h).GetAsync(RepositoryUri, Timeout));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var sent = RequestsTo(h, Repository);
        Assert.Equal([403, 403, 200], sent.Select(r => r.Status));
        Assert.True(sent[1].At - sent[0].At >= TimeSpan.FromSeconds(60), "the first wait is at least a minute");
        Assert.True(sent[2].At - sent[1].At >= TimeSpan.FromSeconds(120), "the second wait doubles");
    }

    [Fact]
    public async Task SecondaryLimitBeyondTheAllowedWait_ThrowsSayingWhenToRetry()
    {
        await using var h = await StartAsync(maxRateLimitWait: "00:00:30");
        h.GitHub.BlockSecondary(1, TimeSpan.FromSeconds(30));

        var ex = await Assert.ThrowsAsync<GitHubRateLimitException>(() => Client(h).GetAsync(RepositoryUri, Timeout));

        Assert.True(ex.IsSecondary);
        Assert.NotNull(ex.ResetsAt);
        Assert.InRange(ex.ResetsAt!.Value - h.Services.Time.GetUtcNow(), TimeSpan.FromSeconds(59), TimeSpan.FromSeconds(61));
        Assert.Contains("retry at", ex.Message, StringComparison.Ordinal);
        Assert.Single(RequestsTo(h, Repository));
    }

    [Fact]
    public async Task SearchAnswers_AreRecordedApartFromCore_AndAnEmptySearchBucketLeavesCoreAlone()
    {
        await using var h = await StartAsync(maxRateLimitWait: "00:00:00");
        (await Client(h).GetAsync(RepositoryUri, Timeout)).Dispose();
        (await Client(h).GetAsync(new Uri("search/repositories?q=api", UriKind.Relative), Timeout)).Dispose();
        var limits = h.Services.Get<GitHubRateLimits>();

        Assert.Equal(5000, limits.ForInstallation(1)!.Limit);
        Assert.Equal("core", limits.ForInstallation(1)!.Resource);
        Assert.Equal(30, limits.ForInstallation(1, "search")!.Limit);
        Assert.Equal(29, limits.ForInstallation(1, "search")!.Remaining);

        h.GitHub.SetRateLimit(1, "search", limit: 30, remaining: 0, h.GitHub.Clock.UtcNow.AddSeconds(50));
        var ex = await Assert.ThrowsAsync<GitHubRateLimitException>(() => Client(h).GetAsync(new Uri("search/repositories?q=api", UriKind.Relative), Timeout));
        using var core = await Client(h).GetAsync(RepositoryUri, Timeout);

        Assert.Equal("search", ex.Resource);
        Assert.Equal(HttpStatusCode.OK, core.StatusCode);
        Assert.Equal(4998, limits.ForInstallation(1)!.Remaining);
        Assert.Equal(0, limits.ForInstallation(1, "search")!.Remaining);
    }

    [Fact]
    public async Task GraphQLRateLimited_IsTheRateLimitException()
    {
        await using var h = await StartAsync(maxRateLimitWait: "00:00:00");
        h.GitHub.SetRateLimit(1, "graphql", limit: 5000, remaining: 0, h.GitHub.Clock.UtcNow.AddMinutes(10));

        var ex = await Assert.ThrowsAsync<GitHubRateLimitException>(() =>
            Client(h).PostAsJsonAsync(new Uri("graphql", UriKind.Relative), new { query = "{ rateLimit { remaining } }" }, Timeout));

        Assert.Equal("graphql", ex.Resource);
        Assert.False(ex.IsSecondary);
        Assert.Equal(HttpStatusCode.OK, ex.StatusCode);
        Assert.Single(RequestsTo(h, "/graphql"));
    }

    [Fact]
    public async Task GraphQLRateLimited_WithinTheAllowedWait_WaitsForTheReset_AndAnswersTheQuery()
    {
        await using var h = await StartAsync(maxRateLimitWait: "00:01:00");
        var reset = h.GitHub.Clock.UtcNow.AddSeconds(20);
        h.GitHub.SetRateLimit(1, "graphql", limit: 5000, remaining: 0, reset);

        using var response = await DriveAsync(h,
            Client(h).PostAsJsonAsync(new Uri("graphql", UriKind.Relative), new { query = "{ rateLimit { remaining } }" }, Timeout));
        var body = await response.Content.ReadAsStringAsync(Timeout);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("\"remaining\":4999", body, StringComparison.Ordinal);
        var sent = RequestsTo(h, "/graphql");
        Assert.Equal(2, sent.Count);
        Assert.True(sent[1].At >= reset, $"sent again at {sent[1].At:O}, before the reset at {reset:O}");
    }
}
