using System.Globalization;
using Hubgate.Server.Api;
using Hubgate.Webhooks.Subscriptions;

namespace Hubgate.Server.Subscriptions;

/// <summary>
/// A subscription to add, as <c>POST /api/subscriptions</c> and <c>hubgate subscriptions add</c> take it: kinds and
/// orderings by name (any case), durations as <c>00:00:05</c> or <c>5s</c>, <c>30m</c>, <c>2h</c>. Unset = the
/// defaults of <see cref="SubscriptionOptions"/>.
/// </summary>
internal sealed record SubscriptionRequest
{
    public string? Name { get; init; }
    public string? Kind { get; init; }
    public string? Url { get; init; }
    public string? Secret { get; init; }
    public IReadOnlyList<string>? Events { get; init; }
    public IReadOnlyList<long>? Installations { get; init; }
    public IReadOnlyList<string>? Repositories { get; init; }
    public string? Ordering { get; init; }
    public int? Concurrency { get; init; }
    public IReadOnlyList<string>? Retry { get; init; }
    public string? Timeout { get; init; }
    public string? DisableAfter { get; init; }
    public bool? Paused { get; init; }
    public RabbitMqRequest? RabbitMq { get; init; }

    /// <summary>
    /// The definition to hand to <see cref="SubscriptionCatalog.AddAsync"/>; null with <paramref name="problems"/> (each
    /// naming its field as the API spells it) when a value cannot even be read. What can be read is validated by the
    /// catalog.
    /// </summary>
    public SubscriptionOptions? ToOptions(out List<string> problems)
    {
        problems = [];
        var options = new SubscriptionOptions { Url = Url, Secret = Secret, Paused = Paused ?? false };
        if (RabbitMq is { } rabbit)
        {
            options.RabbitMq = new Hubgate.Webhooks.Subscriptions.RabbitMq.RabbitMqOptions { Uri = rabbit.Uri };
            if (rabbit.Exchange is not null)
            {
                options.RabbitMq.Exchange = rabbit.Exchange;
            }

            if (rabbit.RoutingKey is not null)
            {
                options.RabbitMq.RoutingKey = rabbit.RoutingKey;
            }

            if (rabbit.DeclareExchange is { } declare)
            {
                options.RabbitMq.DeclareExchange = declare;
            }
        }

        if (Kind is not null)
        {
            if (TryParseName<SubscriptionKind>(Kind, out var kind))
            {
                options.Kind = kind;
            }
            else
            {
                problems.Add($"kind must be http, stream or rabbit_mq (was '{Kind}').");
            }
        }

        if (Ordering is not null)
        {
            if (TryParseName<SubscriptionOrdering>(Ordering, out var ordering))
            {
                options.Ordering = ordering;
            }
            else
            {
                problems.Add($"ordering must be none, repository or installation (was '{Ordering}').");
            }
        }

        foreach (var e in Events ?? [])
        {
            options.Events.Add(e);
        }

        foreach (var i in Installations ?? [])
        {
            options.Installations.Add(i);
        }

        foreach (var r in Repositories ?? [])
        {
            options.Repositories.Add(r);
        }

        if (Concurrency is { } concurrency)
        {
            options.Concurrency = concurrency;
        }

        if (Retry is { } retry)
        {
            options.Retry = [];
            for (var i = 0; i < retry.Count; i++)
            {
                if (Duration(retry[i], $"retry[{i.ToString(CultureInfo.InvariantCulture)}]", problems) is { } delay)
                {
                    options.Retry.Add(delay);
                }
            }
        }

        if (Timeout is not null && Duration(Timeout, "timeout", problems) is { } timeout)
        {
            options.Timeout = timeout;
        }

        if (DisableAfter is not null && Duration(DisableAfter, "disableAfter", problems) is { } disableAfter)
        {
            options.DisableAfter = disableAfter;
        }

        return problems.Count == 0 ? options : null;
    }

    private static TimeSpan? Duration(string text, string field, List<string> problems)
    {
        if (Durations.TryParse(text, out var value))
        {
            return value;
        }

        problems.Add($"{field}: '{text}' is not a duration; use 00:00:05, 5s, 30m or 2h.");
        return null;
    }

    /// <summary>An enum member by name, any case, with or without the '_' of the API's answers (<c>rabbit_mq</c>); numbers are not names.</summary>
    internal static bool TryParseName<T>(string text, out T value) where T : struct, Enum =>
        Enum.TryParse(text.Replace("_", "", StringComparison.Ordinal), ignoreCase: true, out value) && Enum.IsDefined(value)
        && !char.IsAsciiDigit(text.TrimStart('-').FirstOrDefault());
}

/// <summary>A RabbitMQ subscription's broker as the API takes it (<c>rabbitMq</c>): unset = the defaults of <c>RabbitMqOptions</c>.</summary>
internal sealed record RabbitMqRequest
{
    public string? Uri { get; init; }
    public string? Exchange { get; init; }
    public string? RoutingKey { get; init; }
    public bool? DeclareExchange { get; init; }
}
