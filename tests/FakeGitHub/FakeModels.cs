namespace FakeGitHub;

/// <summary>How the fake starts.</summary>
public sealed class FakeGitHubOptions
{
    /// <summary>A path prefix like GitHub Enterprise Server's <c>/api/v3</c>; empty for github.com.</summary>
    public string PathPrefix { get; init; } = string.Empty;

    public long AppId { get; init; } = 12345;

    public string ClientId { get; init; } = "Iv1.fakeclientid0001";

    /// <summary>Plays GitHub Enterprise Server 3.13 and older: only the numeric App id is accepted as the JWT's <c>iss</c>.</summary>
    public bool NumericIssuerOnly { get; init; }

    /// <summary>
    /// True: the primary App gets a 2048-bit key of its own (a second host's App, which must not verify with another
    /// fake's key); false (default, faster): the key every fake of the test run shares.
    /// </summary>
    public bool OwnKey { get; init; }

    /// <summary>The primary App's webhook secret (registered with TestSecrets).</summary>
    public string WebhookSecret { get; init; } = FakeGitHubServer.DefaultWebhookSecret;

    /// <summary>The primary App's slug, as in <c>https://github.com/apps/{slug}</c>.</summary>
    public string Slug { get; init; } = "hubgate-test";

    /// <summary>The primary App's display name.</summary>
    public string AppName { get; init; } = "Hubgate Test";
}

/// <summary>What the fake answers on the next access-token requests.</summary>
public enum FakeFault
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
public enum ExpiresAtMode
{
    Normal,
    Null,
    Missing,
    Unparsable,
}

/// <summary>Which credential a request carried, as the fake judged it.</summary>
public enum FakeCredential
{
    None,
    Jwt,
    InstallationToken,
    Invalid,
}

/// <summary>One request the fake received.</summary>
public sealed record RecordedRequest(
    string Method,
    string Path,
    string Query,
    FakeCredential Credential,
    long? InstallationId,
    int Status,
    IReadOnlyDictionary<string, string> Headers,
    DateTimeOffset At);

/// <summary>An installation the fake knows.</summary>
public sealed class FakeInstallation
{
    public required long Id { get; init; }

    /// <summary>The App this installation belongs to (the fake's primary App unless installed for another).</summary>
    public long AppId { get; internal set; }

    public required string AccountLogin { get; init; }
    public long AccountId { get; init; }
    public string AccountType { get; init; } = "Organization";
    public string RepositorySelection { get; set; } = "selected";
    public Dictionary<string, string> Permissions { get; init; } = new() { ["contents"] = "read", ["metadata"] = "read", ["pull_requests"] = "write" };
    public List<string> Events { get; init; } = ["push", "pull_request"];
    public bool Removed { get; set; }
    public bool Suspended { get; set; }
    public List<FakeRepository> Repositories { get; } = [];
}

/// <summary>A repository of an installation.</summary>
public sealed record FakeRepository(long Id, string Owner, string Name, bool Private, string DefaultBranch)
{
    public string FullName => Owner + "/" + Name;
}

/// <summary>A webhook delivery in GitHub's delivery log (<c>/app/hook/deliveries</c>).</summary>
public sealed record FakeHookDelivery(
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

/// <summary>The fake's own clock: real UTC plus a settable offset (to play a skewed GitHub).</summary>
public sealed class FakeClock
{
    private long _offsetTicks;

    public TimeSpan Offset
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref _offsetTicks));
        set => Interlocked.Exchange(ref _offsetTicks, value.Ticks);
    }

    public DateTimeOffset UtcNow => DateTimeOffset.UtcNow + Offset;
}
