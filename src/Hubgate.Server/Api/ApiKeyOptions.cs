using Hubgate.Server.Access;

namespace Hubgate.Server.Api;

/// <summary>Configuration section <c>Hubgate</c>: who may call the management API and the proxy, and what each may do.</summary>
public sealed class ApiKeyOptions
{
    public const string SectionName = "Hubgate";

    /// <summary>
    /// <c>Hubgate:ApiKey</c>: the key of the client named <c>admin</c>, which has every right. With neither this nor
    /// <see cref="Clients"/> set, the API and the proxy answer 503.
    /// </summary>
    public string? ApiKey { get; set; }

    /// <summary><c>Hubgate:Clients:{name}:…</c>: named clients, each with its own key and policy.</summary>
    public Dictionary<string, ClientOptions> Clients { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// <c>Hubgate:FailedKeyLimitPerMinute</c>: failed key checks (API, proxy, dashboard sign-in) allowed per remote
    /// address and minute (default 20); past it, that address is answered 429 with Retry-After until the minute is over.
    /// </summary>
    public int FailedKeyLimitPerMinute { get; set; } = 20;
}
