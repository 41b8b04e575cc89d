namespace Hubgate.Testing;

/// <summary>How the fake starts.</summary>
public sealed class FakeGitHubOptions
{
    /// <summary>A path prefix like GitHub Enterprise Server's <c>/api/v3</c>; empty for github.com.</summary>
    public string PathPrefix { get; init; } = string.Empty;

    /// <summary>The primary App's id when none is given.</summary>
    public const long DefaultAppId = 12345;

    /// <summary>The primary App's id (default <see cref="DefaultAppId"/>).</summary>
    public long AppId { get; init; } = DefaultAppId;

    /// <summary>The primary App's client id, which GitHub also accepts as a JWT's issuer.</summary>
    public string ClientId { get; init; } = "Iv1.fakeclientid0001";

    /// <summary>Plays GitHub Enterprise Server 3.13 and older: only the numeric App id is accepted as the JWT's <c>iss</c>.</summary>
    internal bool NumericIssuerOnly { get; init; }

    /// <summary>
    /// True: the primary App gets a 2048-bit key of its own (a second host's App, which must not verify with another
    /// fake's key); false (default, faster): the key every fake of the test run shares.
    /// </summary>
    internal bool OwnKey { get; init; }

    /// <summary>The primary App's webhook secret.</summary>
    public string WebhookSecret { get; init; } = FakeGitHubServer.DefaultWebhookSecret;

    /// <summary>The primary App's slug, as in <c>https://github.com/apps/{slug}</c>.</summary>
    public string Slug { get; init; } = "hubgate-test";

    /// <summary>The primary App's display name.</summary>
    public string AppName { get; init; } = "Hubgate Test";
}

/// <summary>What the fake answers on the next access-token requests.</summary>
internal enum FakeFault
{
    InternalServerError,
    BadGateway,
    ServiceUnavailable,
    /// <summary>Never answers until the client gives up or the server stops.</summary>
    Hang,
    NotFound,
    Suspended,
}

/// <summary>How <c>expires_at</c> appears in minted tokens.</summary>
internal enum ExpiresAtMode
{
    Normal,
    Null,
    Missing,
    Unparsable,
}

/// <summary>Which credential a request carried, as the fake judged it.</summary>
public enum FakeCredential
{
    /// <summary>No <c>Authorization</c> header.</summary>
    None,

    /// <summary>An App JWT that verified with one of the fake's Apps' keys by GitHub's rules.</summary>
    Jwt,

    /// <summary>An installation token the fake minted, neither expired nor revoked.</summary>
    InstallationToken,

    /// <summary>Anything else: a JWT that failed a check, an unknown or expired token, another scheme.</summary>
    Invalid,
}

/// <summary>One request the fake received.</summary>
/// <param name="Method">The HTTP method.</param>
/// <param name="Path">The path below the API root (without a GHES <c>/api/v3</c> prefix), starting with '/'.</param>
/// <param name="Query">The query string, with its '?' (empty when none).</param>
/// <param name="Credential">Which credential it carried, as the fake judged it.</param>
/// <param name="InstallationId">The installation whose token it carried, if any.</param>
/// <param name="Status">The status the fake answered.</param>
/// <param name="Headers">A few request headers (<c>Accept</c>, <c>User-Agent</c>, <c>X-GitHub-Api-Version</c>, <c>Content-Type</c>) and <c>Authorization-Scheme</c> (the scheme only, never the credential).</param>
/// <param name="At">When it arrived, on the fake's clock.</param>
public sealed record RecordedRequest(
    string Method,
    string Path,
    string Query,
    FakeCredential Credential,
    long? InstallationId,
    int Status,
    IReadOnlyDictionary<string, string> Headers,
    DateTimeOffset At);

/// <summary>An installation the fake knows: an App installed on an account, with the repositories it was given.</summary>
public sealed class FakeInstallation
{
    /// <summary>The installation id.</summary>
    public required long Id { get; init; }

    /// <summary>The App this installation belongs to (the fake's primary App unless installed for another).</summary>
    public long AppId { get; internal set; }

    /// <summary>The account (user or organization) it is installed on.</summary>
    public required string AccountLogin { get; init; }

    /// <summary>The account's id.</summary>
    public long AccountId { get; init; }

    /// <summary><c>User</c> or <c>Organization</c>.</summary>
    public string AccountType { get; init; } = "Organization";

    /// <summary><c>selected</c> or <c>all</c>.</summary>
    public string RepositorySelection { get; set; } = "selected";

    /// <summary>The permissions granted, as GitHub names them (<c>contents</c>: <c>read</c>, …).</summary>
    public Dictionary<string, string> Permissions { get; init; } = new() { ["contents"] = "read", ["metadata"] = "read", ["pull_requests"] = "write" };

    /// <summary>The events the installation subscribes to.</summary>
    public List<string> Events { get; init; } = ["push", "pull_request"];

    internal bool Removed { get; set; }
    internal bool Suspended { get; set; }

    /// <summary>The repositories the installation can see (add them with <see cref="FakeGitHubServer.AddRepository"/>).</summary>
    public List<FakeRepository> Repositories { get; } = [];
}

/// <summary>A repository of an installation.</summary>
/// <param name="Id">The repository id.</param>
/// <param name="Owner">The owner's login.</param>
/// <param name="Name">The repository's name.</param>
/// <param name="Private">Whether it is private.</param>
/// <param name="DefaultBranch">Its default branch.</param>
public sealed record FakeRepository(long Id, string Owner, string Name, bool Private, string DefaultBranch)
{
    /// <summary><c>owner/name</c>.</summary>
    public string FullName => Owner + "/" + Name;
}

/// <summary>A webhook delivery in GitHub's delivery log (<c>/app/hook/deliveries</c>).</summary>
internal sealed record FakeHookDelivery(
    long Id,
    string Guid,
    string Event,
    string? Action,
    string Status,
    int StatusCode,
    DateTimeOffset DeliveredAt,
    long? InstallationId,
    long? RepositoryId,
    bool Redelivery = false)
{
    /// <summary>The App whose delivery log this attempt is in.</summary>
    public long AppId { get; init; }
}

/// <summary>The fake's own clock: its time source (the system's unless a test gives another) plus a settable offset (to play a skewed GitHub).</summary>
internal sealed class FakeClock
{
    private long _offsetTicks;

    /// <summary>Where the time comes from.</summary>
    public TimeProvider Time { get; set; } = TimeProvider.System;

    public TimeSpan Offset
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref _offsetTicks));
        set => Interlocked.Exchange(ref _offsetTicks, value.Ticks);
    }

    public DateTimeOffset UtcNow => Time.GetUtcNow() + Offset;
}
