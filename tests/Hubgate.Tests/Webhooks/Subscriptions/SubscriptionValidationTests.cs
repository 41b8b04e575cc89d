using Hubgate.Webhooks.Subscriptions;

namespace Hubgate.Tests.Webhooks.Subscriptions;

public sealed class SubscriptionValidationTests
{
    private const string Secret = "a-subscription-secret-of-32-chars";

    private static List<string> Problems(SubscriptionOptions options, bool secretRequired = true) =>
        SubscriptionValidation.Problems(options, field => $"Subscriptions:ci:{field}", secretRequired);

    [Fact]
    public void AnHttpSubscription_WithUrlAndSecret_HasNoProblem()
    {
        Assert.Empty(Problems(new SubscriptionOptions { Url = "https://ci.internal/hooks", Secret = Secret }));
    }

    [Theory]
    [InlineData("ci")]
    [InlineData("billing-events-2")]
    [InlineData("a")]
    public void GoodNames_AreAccepted(string name) => Assert.Null(SubscriptionValidation.NameProblem(name));

    [Theory]
    [InlineData("")]
    [InlineData("CI")]
    [InlineData("with space")]
    [InlineData("under_score")]
    [InlineData("a-name-that-is-much-too-long-to-be-a-subscription-name-at-all-really")]
    public void BadNames_AreRefused(string name) => Assert.Contains("is not a subscription name", SubscriptionValidation.NameProblem(name), StringComparison.Ordinal);

    [Theory]
    [InlineData("not a url")]
    [InlineData("/relative/path")]
    [InlineData("ftp://files.internal/hooks")]
    [InlineData("file:///etc/passwd")]
    [InlineData(null)]
    public void AUrlThatIsNotAbsoluteHttp_IsRefused_NamingTheKey(string? url)
    {
        var problem = Assert.Single(Problems(new SubscriptionOptions { Url = url, Secret = Secret }));

        Assert.StartsWith("Subscriptions:ci:Url must be an absolute http or https URL", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void AUrlWithAPassword_IsRefused_WithoutQuotingIt()
    {
        var problem = Assert.Single(Problems(new SubscriptionOptions { Url = "https://user:hunter2hunter2@ci.internal/", Secret = Secret }));

        Assert.StartsWith("Subscriptions:ci:Url must not carry a user name or password", problem, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("short")]
    [InlineData("whsec_c2hvcnQ=")]
    [InlineData("whsec_not base64!")]
    public void ASecretThatIsTooShortOrMalformed_IsRefused_WithoutQuotingIt(string secret)
    {
        var problem = Assert.Single(Problems(new SubscriptionOptions { Url = "https://ci.internal/", Secret = secret }));

        Assert.StartsWith("Subscriptions:ci:Secret ", problem, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, problem, StringComparison.Ordinal);
    }

    [Fact]
    public void AnHttpSubscriptionInConfiguration_MustGiveASecret_TheApiMayGenerateOne()
    {
        Assert.StartsWith("Subscriptions:ci:Secret is empty", Assert.Single(Problems(new SubscriptionOptions { Url = "https://ci.internal/" })), StringComparison.Ordinal);
        Assert.Empty(Problems(new SubscriptionOptions { Url = "https://ci.internal/" }, secretRequired: false));
    }

    [Fact]
    public void AnEmptyOrUnorderedRetryList_IsRefused()
    {
        var empty = Assert.Single(Problems(new SubscriptionOptions { Url = "https://ci.internal/", Secret = Secret, Retry = [] }));
        var unordered = Assert.Single(Problems(new SubscriptionOptions
        {
            Url = "https://ci.internal/", Secret = Secret, Retry = [TimeSpan.FromMinutes(5), TimeSpan.FromSeconds(5)],
        }));

        Assert.StartsWith("Subscriptions:ci:Retry is empty", empty, StringComparison.Ordinal);
        Assert.StartsWith("Subscriptions:ci:Retry is not in order", unordered, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownKindOrdering_BadEventsRepositoriesAndLimits_AreEachNamed()
    {
        var options = new SubscriptionOptions
        {
            Kind = (SubscriptionKind)42, Ordering = (SubscriptionOrdering)9, Concurrency = 0, Timeout = TimeSpan.Zero, DisableAfter = TimeSpan.Zero,
        };
        options.Events.Add("Push!");
        options.Repositories.Add("no-slash");
        options.Installations.Add(-1);

        var problems = Problems(options, secretRequired: false);

        foreach (var key in new[] { "Kind", "Ordering", "Concurrency", "Timeout", "DisableAfter", "Events", "Repositories", "Installations" })
        {
            Assert.Contains(problems, p => p.StartsWith($"Subscriptions:ci:{key} ", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void AStreamSubscription_HasNoUrl_AndNeedsNoSecret()
    {
        Assert.Empty(Problems(new SubscriptionOptions { Kind = SubscriptionKind.Stream }));
        Assert.StartsWith("Subscriptions:ci:Url is for Http subscriptions",
            Assert.Single(Problems(new SubscriptionOptions { Kind = SubscriptionKind.Stream, Url = "https://x.internal/" })), StringComparison.Ordinal);
    }

    [Fact]
    public void TheDefaultSchedule_IsSvixs_AndEndsDead()
    {
        var retries = RetrySchedule.Default;

        Assert.Equal([5, 300, 1800, 7200, 18000, 36000, 36000], retries.Select(r => (int)r.TotalSeconds));
        Assert.Equal(TimeSpan.FromSeconds(5), RetrySchedule.After(retries, 1, jitter: 0.5));
        Assert.Equal(TimeSpan.FromHours(10), RetrySchedule.After(retries, 7, jitter: 0.5));
        Assert.Null(RetrySchedule.After(retries, 8, jitter: 0.5));
    }

    [Fact]
    public void Jitter_StaysWithinTwentyPercent()
    {
        Assert.Equal(TimeSpan.FromMinutes(4), RetrySchedule.After(RetrySchedule.Default, 2, jitter: 0));
        Assert.Equal(TimeSpan.FromMinutes(6), RetrySchedule.After(RetrySchedule.Default, 2, jitter: 1));
    }

    [Theory]
    [InlineData("push", null, 1L, "o/r", true)]
    [InlineData("pull_request", "closed", 1L, "o/r", true)]
    [InlineData("pull_request", "opened", 1L, "o/r", false)]
    [InlineData("issues", "opened", 1L, "o/r", false)]
    [InlineData("push", null, 2L, "o/r", false)]
    [InlineData("push", null, null, "o/r", false)]
    [InlineData("push", null, 1L, "O/R", true)]
    [InlineData("push", null, 1L, "o/other", false)]
    [InlineData("push", null, 1L, null, false)]
    public void TheFilter_NeedsEveryListThatIsSet(string @event, string? action, long? installation, string? repository, bool matches)
    {
        var options = new SubscriptionOptions();
        options.Events.Add("push");
        options.Events.Add("pull_request.closed");
        options.Installations.Add(1);
        options.Repositories.Add("o/r");

        Assert.Equal(matches, new SubscriptionFilter(options).Matches(@event, action, installation, repository));
    }

    [Fact]
    public void AnEmptyFilter_OrAStar_MatchesEverything()
    {
        var star = new SubscriptionOptions();
        star.Events.Add("*");

        Assert.True(new SubscriptionFilter(new SubscriptionOptions()).Matches("ping", null, null, null));
        Assert.True(new SubscriptionFilter(star).Matches("workflow_run", "completed", 5, "a/b"));
    }
}
