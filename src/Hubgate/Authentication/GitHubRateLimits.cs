using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Headers;

namespace Hubgate.Authentication;

/// <summary>The last <c>X-RateLimit-*</c> headers GitHub sent, per credential (an installation, or the App).</summary>
public sealed class GitHubRateLimits
{
    private readonly ConcurrentDictionary<long, RateLimitSnapshot> _byInstallation = new();
    private RateLimitSnapshot? _app;

    public GitHubRateLimits() => Telemetry.HubgateTelemetry.Observe(this);

    /// <summary>The last known state for an installation's token, or null when no response has been seen.</summary>
    public RateLimitSnapshot? ForInstallation(long installationId) =>
        _byInstallation.TryGetValue(installationId, out var s) ? s : null;

    /// <summary>The last known state for the App's JWT.</summary>
    public RateLimitSnapshot? ForApp => Volatile.Read(ref _app);

    /// <summary>Every installation with a known state.</summary>
    public IReadOnlyDictionary<long, RateLimitSnapshot> Installations => _byInstallation;

    internal void Record(long? installationId, HttpResponseHeaders headers, DateTimeOffset now)
    {
        if (!TryParse(headers, now, out var snapshot))
        {
            return;
        }

        if (installationId is { } id)
        {
            _byInstallation[id] = snapshot;
        }
        else
        {
            Volatile.Write(ref _app, snapshot);
        }
    }

    internal static bool TryParse(HttpResponseHeaders headers, DateTimeOffset now, out RateLimitSnapshot snapshot)
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
        var resource = h.TryGetValues("X-RateLimit-Resource", out var r) ? r.ToString() : null;
        snapshot = new RateLimitSnapshot(limit, remaining, used, reset, resource, now);
        return true;
    }

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
}

/// <summary>One credential's rate-limit state as of <see cref="ObservedAt"/>.</summary>
public sealed record RateLimitSnapshot(long Limit, long Remaining, long Used, DateTimeOffset? ResetsAt, string? Resource, DateTimeOffset ObservedAt);
