using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Headers;

namespace Hubgate.Authentication;

/// <summary>
/// The last <c>X-RateLimit-*</c> headers GitHub sent, per credential (an installation, or the App) and per resource
/// (<c>X-RateLimit-Resource</c>: <c>core</c>, <c>search</c>, <c>code_search</c>, <c>graphql</c>, …), so a search
/// answer never overwrites the core figures; and the secondary limits GitHub imposed, per credential.
/// </summary>
public sealed class GitHubRateLimits : IDisposable
{
    /// <summary>The resource of most REST routes.</summary>
    public const string Core = "core";

    private readonly ConcurrentDictionary<GitHubRateLimitKey, RateLimitSnapshot> _snapshots = new();
    private readonly ConcurrentDictionary<long, SecondaryLimit> _secondary = new();

    internal GitHubRateLimits()
        : this(Apps.GitHubApp.DefaultName)
    {
    }

    /// <summary>The figures of the App named <paramref name="app"/> (the <c>app</c> tag of the rate-limit gauge).</summary>
    internal GitHubRateLimits(string app)
    {
        App = app;
        Telemetry.HubgateTelemetry.Observe(this);
    }

    /// <summary>The App these figures belong to.</summary>
    public string App { get; }

    /// <summary>Stops reporting these figures in the rate-limit gauge.</summary>
    public void Dispose() => Telemetry.HubgateTelemetry.Forget(this);

    /// <summary>The last known state of an installation's token for <paramref name="resource"/>, or null when no response has been seen.</summary>
    public RateLimitSnapshot? ForInstallation(long installationId, string resource = Core) =>
        _snapshots.TryGetValue(new GitHubRateLimitKey(installationId, resource), out var s) ? s : null;

    /// <summary>The last known <c>core</c> state of the App's JWT.</summary>
    public RateLimitSnapshot? ForApp => ForAppResource(Core);

    /// <summary>The last known state of the App's JWT for <paramref name="resource"/>.</summary>
    public RateLimitSnapshot? ForAppResource(string resource) =>
        _snapshots.TryGetValue(new GitHubRateLimitKey(null, resource), out var s) ? s : null;

    /// <summary>Every credential and resource with a known state.</summary>
    public IReadOnlyDictionary<GitHubRateLimitKey, RateLimitSnapshot> Snapshots => _snapshots;

    /// <summary>Until when (local clock) a secondary limit holds the installation's requests (null: the App), if it does.</summary>
    public DateTimeOffset? SecondaryLimitUntil(long? installationId) =>
        _secondary.TryGetValue(installationId ?? 0, out var s) ? s.Until : null;

    /// <summary>Records a response's headers under its <c>X-RateLimit-Resource</c> (else <paramref name="predictedResource"/>).</summary>
    internal RateLimitSnapshot? Record(long? installationId, string predictedResource, HttpResponseHeaders headers, DateTimeOffset now, TimeSpan gitHubOffset)
    {
        if (!TryParse(headers, now, predictedResource, gitHubOffset, out var snapshot))
        {
            return null;
        }

        _snapshots[new GitHubRateLimitKey(installationId, snapshot.Resource!)] = snapshot;
        return snapshot;
    }

    /// <summary>When the known bucket of the credential and resource is empty and has not reset yet: when it will (local clock).</summary>
    internal DateTimeOffset? EmptyUntil(long? installationId, string resource, DateTimeOffset now)
    {
        var until = _secondary.TryGetValue(installationId ?? 0, out var secondary) && secondary.Until > now ? secondary.Until : (DateTimeOffset?)null;
        if (_snapshots.TryGetValue(new GitHubRateLimitKey(installationId, resource), out var s) &&
            s is { Remaining: <= 0, LocalResetsAt: { } reset } && reset + ResetMargin > now)
        {
            var primary = reset + ResetMargin;
            until = until is { } u && u > primary ? u : primary;
        }

        return until;
    }

    /// <summary>GitHub imposed a secondary limit until <paramref name="until"/>; returns how many it imposed in a row.</summary>
    internal int RecordSecondary(long? installationId, DateTimeOffset until) =>
        _secondary.AddOrUpdate(installationId ?? 0, static (_, u) => new SecondaryLimit(u, 1), static (_, old, u) => new SecondaryLimit(u, old.InARow + 1), until).InARow;

    /// <summary>How many secondary limits GitHub imposed in a row on the credential (0 after an answer that was not one).</summary>
    internal int SecondaryInARow(long? installationId) =>
        _secondary.TryGetValue(installationId ?? 0, out var s) ? s.InARow : 0;

    /// <summary>An answer that was not a secondary limit ends the series (the next one waits the minimum again).</summary>
    internal void ClearSecondary(long? installationId)
    {
        // A lock-free look first: the usual answer clears nothing, and TryRemove (like IsEmpty) takes locks.
        var key = installationId ?? 0;
        if (_secondary.TryGetValue(key, out _))
        {
            _secondary.TryRemove(key, out _);
        }
    }

    /// <summary>GitHub says to retry after the reset; its clock and its one-second resolution get a second's margin.</summary>
    internal static readonly TimeSpan ResetMargin = TimeSpan.FromSeconds(1);

    /// <summary>How far GitHub's clock is ahead of ours, from this response's <c>Date</c> when it has one.</summary>
    internal static TimeSpan GitHubOffset(HttpResponseHeaders headers, DateTimeOffset now, TimeSpan known) =>
        headers.Date is { } date ? date - now : known;

    internal static bool TryParse(HttpResponseHeaders headers, DateTimeOffset now, string predictedResource, TimeSpan gitHubOffset, out RateLimitSnapshot snapshot)
    {
        snapshot = null!;
        var h = headers.NonValidated;
        if (!TryLong(h, "X-RateLimit-Remaining", out var remaining))
        {
            return false;
        }

        TryLong(h, "X-RateLimit-Limit", out var limit);
        TryLong(h, "X-RateLimit-Used", out var used);
        var reset = TryLong(h, "X-RateLimit-Reset", out var resetSeconds) ? DateTimeOffset.FromUnixTimeSeconds(resetSeconds) : (DateTimeOffset?)null;
        var resource = h.TryGetValues("X-RateLimit-Resource", out var r) ? KnownResource(r.ToString()) : predictedResource;
        snapshot = new RateLimitSnapshot(limit, remaining, used, reset, resource, now)
        {
            LocalResetsAt = reset - GitHubOffset(headers, now, gitHubOffset),
        };
        return true;
    }

    /// <summary>The shared instance for GitHub's common resource names, so recording allocates no string for them.</summary>
    private static string KnownResource(string name) => name switch
    {
        Core => Core,
        "search" => "search",
        "code_search" => "code_search",
        "graphql" => "graphql",
        _ => name,
    };

    private static bool TryLong(HttpHeadersNonValidated headers, string name, out long value)
    {
        value = 0;
        if (!headers.TryGetValues(name, out var values))
        {
            return false;
        }

        foreach (var v in values)
        {
            return long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out value);
        }

        return false;
    }

    private sealed record SecondaryLimit(DateTimeOffset Until, int InARow);
}

/// <summary>A credential (an installation, or the App when <paramref name="InstallationId"/> is null) and a rate-limit resource.</summary>
public readonly record struct GitHubRateLimitKey(long? InstallationId, string Resource);

/// <summary>One credential's rate-limit state for one resource as of <see cref="ObservedAt"/>.</summary>
/// <param name="Limit">Requests allowed in the window (<c>X-RateLimit-Limit</c>).</param>
/// <param name="Remaining">Requests left in the window (<c>X-RateLimit-Remaining</c>).</param>
/// <param name="Used">Requests used in the window (<c>X-RateLimit-Used</c>).</param>
/// <param name="ResetsAt">When the window resets, on GitHub's clock (<c>X-RateLimit-Reset</c>).</param>
/// <param name="Resource">GitHub's <c>X-RateLimit-Resource</c> (<c>core</c>, <c>search</c>, <c>graphql</c>, …).</param>
/// <param name="ObservedAt">When the response arrived (local clock).</param>
public sealed record RateLimitSnapshot(long Limit, long Remaining, long Used, DateTimeOffset? ResetsAt, string? Resource, DateTimeOffset ObservedAt)
{
    /// <summary>When the window resets, on the local clock (GitHub's reset less its clock's offset).</summary>
    public DateTimeOffset? LocalResetsAt { get; init; }
}
