using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using Hubgate.Authentication;
using Hubgate.Storage;
using Hubgate.Webhooks.Subscriptions;

namespace Hubgate.Telemetry;

/// <summary>
/// Hubgate's metrics and traces, under the name <c>Hubgate</c> (add it to an OpenTelemetry meter and tracer provider;
/// the server does, with a Prometheus endpoint at <c>/metrics</c>). No instrument carries a token, JWT, key, secret or
/// payload: only event names, outcomes, status codes and installation ids.
/// </summary>
public static class HubgateTelemetry
{
    /// <summary>The meter and activity source name.</summary>
    public const string Name = "Hubgate";

    private static readonly string? Version = typeof(HubgateTelemetry).Assembly.GetName().Version?.ToString();
    private static readonly ConditionalWeakTable<GitHubRateLimits, object?> RateLimitStates = [];
    private static readonly ConditionalWeakTable<SubscriptionGauges, object?> SubscriptionStates = [];

    internal static readonly ActivitySource Source = new(Name, Version);
    internal static readonly Meter Meter = new(Name, Version);

    internal static readonly Counter<long> DeliveriesReceived = Meter.CreateCounter<long>("hubgate.webhook.deliveries.received", "{delivery}",
        "Signed deliveries answered by the webhook endpoint, by event and result (stored, duplicate, requeued, unavailable).");

    internal static readonly Counter<long> SignatureFailures = Meter.CreateCounter<long>("hubgate.webhook.signature.failures", "{request}",
        "Requests refused by the signature check, by reason (missing, malformed, unsupported_algorithm, sha256_required, mismatch).");

    internal static readonly Counter<long> DeliveriesRefused = Meter.CreateCounter<long>("hubgate.webhook.deliveries.refused", "{request}",
        "Requests refused before storing for a reason other than the signature, by reason (wrong_app: signed, but for another App; busy: the unverified bytes in flight were at their bound).");

    internal static readonly UpDownCounter<long> UnverifiedBytes = Meter.CreateUpDownCounter<long>("hubgate.webhook.unverified", "By",
        "Bytes of request bodies held before their signature is verified (bounded by Webhooks:MaxUnverifiedBytesInFlight).");

    /// <summary>Seconds, from a millisecond to GitHub's 10 s limit.</summary>
    private static readonly InstrumentAdvice<double> Seconds = new()
    {
        HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    };

    internal static readonly Histogram<double> IngestDuration = Meter.CreateHistogram("hubgate.webhook.ingest.duration", "s",
        "Time from the request to the answer for signed deliveries, commit included.", advice: Seconds);

    internal static readonly Counter<long> DeliveriesFinished = Meter.CreateCounter<long>("hubgate.webhook.deliveries.finished", "{delivery}",
        "Delivery attempts finished, by subscription, App, event and resulting state (processed, ignored, failed, dead).");

    internal static readonly Histogram<double> ProcessingDuration = Meter.CreateHistogram("hubgate.webhook.processing.duration", "s",
        "Time one delivery attempt took (the handlers for the built-in subscription, the request for an HTTP one), by subscription, App and event.", advice: Seconds);

    internal static readonly Histogram<double> DeliveryLag = Meter.CreateHistogram("hubgate.subscription.lag", "s",
        "Time from a delivery's receipt to its being processed (delivered) for a subscription, by subscription.", advice: Seconds);

    internal static readonly Counter<long> SubscriptionsDisabled = Meter.CreateCounter<long>("hubgate.subscription.disabled", "{subscription}",
        "Subscriptions disabled by Hubgate (410 Gone, or failing for DisableAfter), by subscription.");

    internal static readonly Counter<long> TokenMints = Meter.CreateCounter<long>("hubgate.token.mints", "{token}",
        "Installation tokens requested from GitHub, by result (minted, failed).");

    internal static readonly Counter<long> TokenCacheHits = Meter.CreateCounter<long>("hubgate.token.cache_hits", "{request}",
        "Installation tokens served from memory without touching the database or GitHub.");

    internal static readonly Counter<long> RateLimited = Meter.CreateCounter<long>("hubgate.github.rate_limited", "{request}",
        "GitHub requests held by a rate limit, by kind (primary, secondary), resource and outcome (waited, failed, refused before sending, passed back by the proxy).");

    static HubgateTelemetry()
    {
        Meter.CreateObservableGauge("hubgate.github.rate_limit.remaining", ObserveRateLimits, "{request}",
            "Requests left in the current GitHub rate-limit window, per credential and resource (core, search, graphql, …; from the last response's X-RateLimit-Remaining and X-RateLimit-Resource).");
        Meter.CreateObservableGauge("hubgate.subscription.backlog", ObserveBacklog, "{delivery}",
            "Deliveries a subscription is owed (pending, in flight or failed and to be retried), by subscription; read from the database at most every 5 s.");
        Meter.CreateObservableGauge("hubgate.subscription.status", ObserveStatus, "{subscription}",
            "1 for a subscription's current status (active, paused, disabled), 0 for the others, by subscription and status; read from the database at most every 5 s.");
    }

    /// <summary>Includes <paramref name="limits"/> in the rate-limit gauge (each live instance is observed).</summary>
    internal static void Observe(GitHubRateLimits limits) => RateLimitStates.AddOrUpdate(limits, null);

    /// <summary>Leaves <paramref name="limits"/> out of the rate-limit gauge (its App was removed).</summary>
    internal static void Forget(GitHubRateLimits limits) => RateLimitStates.Remove(limits);

    /// <summary>Includes <paramref name="gauges"/> in the subscriptions' gauges (the host's, from start to stop).</summary>
    internal static void Observe(SubscriptionGauges gauges) => SubscriptionStates.AddOrUpdate(gauges, null);

    /// <summary>Leaves <paramref name="gauges"/> out of the subscriptions' gauges (its host stopped).</summary>
    internal static void Forget(SubscriptionGauges gauges) => SubscriptionStates.Remove(gauges);

    private static IEnumerable<Measurement<long>> ObserveBacklog()
    {
        foreach (var (gauges, _) in SubscriptionStates)
        {
            foreach (var (subscription, backlog) in gauges.Current()?.Backlog ?? new Dictionary<string, long>())
            {
                yield return new Measurement<long>(backlog, new KeyValuePair<string, object?>("subscription", subscription));
            }
        }
    }

    private static IEnumerable<Measurement<long>> ObserveStatus()
    {
        foreach (var (gauges, _) in SubscriptionStates)
        {
            foreach (var (subscription, current) in gauges.Current()?.Status ?? new Dictionary<string, SubscriptionStatus>())
            {
                foreach (var status in Enum.GetValues<SubscriptionStatus>())
                {
                    yield return new Measurement<long>(status == current ? 1 : 0,
                        new KeyValuePair<string, object?>("subscription", subscription),
                        new KeyValuePair<string, object?>("status", status.ToString().ToLowerInvariant()));
                }
            }
        }
    }

    private static IEnumerable<Measurement<long>> ObserveRateLimits()
    {
        foreach (var (limits, _) in RateLimitStates)
        {
            foreach (var (key, snapshot) in limits.Snapshots)
            {
                var resource = new KeyValuePair<string, object?>("resource", key.Resource);
                var app = new KeyValuePair<string, object?>("app", limits.App);
                yield return key.InstallationId is { } installation
                    ? new Measurement<long>(snapshot.Remaining,
                        app, new KeyValuePair<string, object?>("credential", "installation"), new KeyValuePair<string, object?>("installation", installation), resource)
                    : new Measurement<long>(snapshot.Remaining, app, new KeyValuePair<string, object?>("credential", "app"), resource);
            }
        }
    }
}
