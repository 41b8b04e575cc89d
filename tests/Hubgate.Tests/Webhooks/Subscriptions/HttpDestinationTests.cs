using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Hubgate.Testing;
using Hubgate.Webhooks.Subscriptions;

namespace Hubgate.Tests.Webhooks.Subscriptions;

public sealed class HttpDestinationTests : IAsyncLifetime
{
    private const string PlainSecret = "a-subscription-secret-of-32-chars";
    private static readonly byte[] Body = WebhookFixtures.Load("push", "with-new-branch.payload.json");
    private readonly SubscriptionKey _key = SubscriptionKey.Parse(PlainSecret, out _)!;
    private SubscriptionSink _sink = null!;

    public async Task InitializeAsync() => _sink = await SubscriptionSink.StartAsync(PlainSecret, SubscriptionKey.Parse(PlainSecret, out _)!.StandardForm);

    public async Task DisposeAsync() => await _sink.DisposeAsync();

    private static OutgoingDelivery Delivery(string id = "72d3162e-cc78-11e3-81ab-4c9367dc0958") =>
        new(7, id, "push", null, 42, "Codertocat/Hello-World", "123", "42", "integration", DateTimeOffset.UtcNow, Body);

    private static async Task<AttemptResult> SendAsync(Uri url, SubscriptionKey key, OutgoingDelivery delivery, bool allowLoopback = true,
        TimeSpan? timeout = null)
    {
        using var client = new HttpClient(HttpDestination.CreateHandler(allowLoopback)) { Timeout = Timeout.InfiniteTimeSpan };
        return await new HttpDestination(client, TimeProvider.System).SendAsync(url, key, delivery, timeout ?? TimeSpan.FromSeconds(15), CancellationToken.None);
    }

    [Fact]
    public async Task ADelivery_IsAcceptedByOctokitsOwnReceiver_WithGitHubsHeaders_AndTheExactBytes()
    {
        var result = await SendAsync(new Uri(_sink.BaseUrl, "/octokit"), _key, Delivery());

        Assert.Equal(AttemptOutcome.Delivered, result.Outcome);
        var (headers, body) = Assert.Single(_sink.Octokit);
        Assert.Equal(Body, body);
        Assert.Equal("push", headers["X-GitHub-Event"].ToString());
        Assert.Equal("72d3162e-cc78-11e3-81ab-4c9367dc0958", headers["X-GitHub-Delivery"].ToString());
        Assert.Equal("123", headers["X-GitHub-Hook-ID"].ToString());
        Assert.Equal("42", headers["X-GitHub-Hook-Installation-Target-ID"].ToString());
        Assert.Equal("integration", headers["X-GitHub-Hook-Installation-Target-Type"].ToString());
        Assert.StartsWith("application/json", headers["Content-Type"].ToString(), StringComparison.Ordinal);
        Assert.Equal(("72d3162e-cc78-11e3-81ab-4c9367dc0958", "refs/heads/master"), Assert.Single(_sink.OctokitPushes));
    }

    [Fact]
    public async Task ADelivery_IsVerifiedByTheStandardWebhooksPackage_WithTheKeysWhsecForm()
    {
        var result = await SendAsync(new Uri(_sink.BaseUrl, "/standard"), _key, Delivery("d-standard"));

        Assert.Equal(AttemptOutcome.Delivered, result.Outcome);
        var (id, body) = Assert.Single(_sink.Standard);
        Assert.Equal("d-standard", id);
        Assert.Equal(Body, body);
    }

    [Fact]
    public async Task AnotherSecret_IsRefusedByBothReceivers()
    {
        var other = SubscriptionKey.Parse("another-secret-of-thirty-two-chr", out _)!;

        var octokit = await SendAsync(new Uri(_sink.BaseUrl, "/octokit"), other, Delivery());
        var standard = await SendAsync(new Uri(_sink.BaseUrl, "/standard"), other, Delivery());

        Assert.Equal((AttemptOutcome.Failed, 400), (octokit.Outcome, octokit.Status)); // Octokit's receiver answers 400 to a bad signature
        Assert.Equal((AttemptOutcome.Failed, 401), (standard.Outcome, standard.Status));
        Assert.Empty(_sink.Octokit);
        Assert.Empty(_sink.Standard);
    }

    [Fact]
    public async Task AWhsecSecret_SignsBothWaysWithTheDecodedBytes()
    {
        var bytes = RandomNumberGenerator.GetBytes(32);
        var secret = "whsec_" + Convert.ToBase64String(bytes);
        var key = SubscriptionKey.Parse(secret, out _)!;
        await using var sink = await SubscriptionSink.StartAsync("unused-octokit-secret-here-32chr", secret);

        var result = await SendAsync(new Uri(sink.BaseUrl, "/standard"), key, Delivery());

        Assert.Equal(AttemptOutcome.Delivered, result.Outcome);
        Assert.Equal(secret, key.StandardForm);
        Assert.Equal("sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(bytes, Body)), SubscriptionSignature.GitHub(key.Bytes, Body));
    }

    [Fact]
    public void TheGitHubSignature_MatchesGitHubsDocumentedVector()
    {
        var key = SubscriptionKey.Parse("It's a Secret to Everybody", out _)!;

        Assert.Equal("sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
            SubscriptionSignature.GitHub(key.Bytes, "Hello, World!"u8));
    }

    [Theory]
    [InlineData(410, "Gone")]
    [InlineData(503, "Failed")]
    [InlineData(500, "Failed")]
    [InlineData(400, "Failed")]
    [InlineData(200, "Delivered")]
    [InlineData(204, "Delivered")]
    public async Task TheStatus_DecidesTheOutcome(int status, string expected)
    {
        var result = await SendAsync(new Uri(_sink.BaseUrl, $"/status/{status}"), _key, Delivery());

        Assert.Equal((Enum.Parse<AttemptOutcome>(expected), status), (result.Outcome, result.Status));
    }

    [Fact]
    public async Task ARedirect_IsAFailure_AndIsNotFollowed()
    {
        var result = await SendAsync(new Uri(_sink.BaseUrl, "/redirect"), _key, Delivery());

        Assert.Equal((AttemptOutcome.Failed, 302), (result.Outcome, result.Status));
        Assert.Contains("redirects are not followed", result.Error, StringComparison.Ordinal);
        Assert.Empty(_sink.Standard);
    }

    [Fact]
    public async Task ADestinationThatHangs_FailsAtTheSubscriptionsTimeout()
    {
        var result = await SendAsync(new Uri(_sink.BaseUrl, "/hang"), _key, Delivery(), timeout: TimeSpan.FromMilliseconds(300));

        Assert.Equal(AttemptOutcome.Failed, result.Outcome);
        Assert.Null(result.Status);
        Assert.Contains("did not answer within the subscription's Timeout", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AClosedPort_IsAFailureToRetry()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        var result = await SendAsync(new Uri($"http://127.0.0.1:{port}/"), _key, Delivery());

        Assert.Equal(AttemptOutcome.Failed, result.Outcome);
        Assert.StartsWith("Could not reach the destination", result.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://127.0.0.1:{port}/standard")]
    [InlineData("http://localhost:{port}/standard")]
    public async Task Loopback_IsRefusedAtConnectTime_WithoutTheSetting(string template)
    {
        var url = new Uri(template.Replace("{port}", _sink.BaseUrl.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal));

        var result = await SendAsync(url, _key, Delivery(), allowLoopback: false);

        Assert.Equal(AttemptOutcome.Failed, result.Outcome);
        Assert.Contains("loopback", result.Error, StringComparison.Ordinal);
        Assert.Empty(_sink.Standard);
    }

    [Theory]
    [InlineData("http://169.254.169.254/latest/meta-data/")]
    [InlineData("http://[fd00:ec2::254]/latest/meta-data/")]
    [InlineData("http://[fe80::1]/")]
    [InlineData("http://[::ffff:169.254.169.254]/")]
    [InlineData("http://100.100.100.200/")]
    public async Task MetadataAndLinkLocalAddresses_AreRefused_EvenWithLoopbackAllowed(string url)
    {
        var result = await SendAsync(new Uri(url), _key, Delivery(), allowLoopback: true);

        Assert.Equal(AttemptOutcome.Failed, result.Outcome);
        Assert.Contains("subscriptions are never delivered there", result.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("169.254.169.254", false)]
    [InlineData("169.254.0.1", false)]
    [InlineData("fd00:ec2::254", false)]
    [InlineData("fe80::1", false)]
    [InlineData("0.0.0.0", false)]
    [InlineData("224.0.0.1", false)]
    [InlineData("255.255.255.255", false)]
    [InlineData("168.63.129.16", false)]
    [InlineData("::", false)]
    [InlineData("127.0.0.1", false)]
    [InlineData("127.1.2.3", false)]
    [InlineData("::1", false)]
    [InlineData("::ffff:127.0.0.1", false)]
    [InlineData("10.1.2.3", true)]
    [InlineData("172.16.0.5", true)]
    [InlineData("192.168.1.10", true)]
    [InlineData("fd12:3456::1", true)]
    [InlineData("140.82.112.3", true)]
    public void TheAddressPolicy_WithoutLoopback(string address, bool allowed)
    {
        Assert.Equal(allowed, DestinationAddressPolicy.Refusal(IPAddress.Parse(address), allowLoopback: false) is null);
    }

    [Fact]
    public void Loopback_IsAllowed_OnlyWithTheSetting()
    {
        Assert.Null(DestinationAddressPolicy.Refusal(IPAddress.Loopback, allowLoopback: true));
        Assert.Null(DestinationAddressPolicy.Refusal(IPAddress.IPv6Loopback, allowLoopback: true));
        Assert.NotNull(DestinationAddressPolicy.Refusal(IPAddress.Parse("169.254.169.254"), allowLoopback: true));
    }
}
