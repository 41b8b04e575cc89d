namespace Hubgate.Webhooks.Subscriptions;

/// <summary>
/// Whether a delivery is for a subscription: every list that is not empty must match. <c>Events</c> entries are an
/// event (<c>push</c>), an event and one action (<c>pull_request.closed</c>) or <c>*</c>; a delivery without an
/// installation or repository matches only subscriptions that do not filter on it.
/// </summary>
internal sealed class SubscriptionFilter
{
    private readonly HashSet<string> _events;
    private readonly HashSet<string> _eventActions;
    private readonly bool _anyEvent;
    private readonly HashSet<long> _installations;
    private readonly HashSet<string> _repositories;

    public SubscriptionFilter(SubscriptionOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _anyEvent = options.Events.Count == 0 || options.Events.Contains("*");
        _events = new(options.Events.Where(e => !e.Contains('.', StringComparison.Ordinal)), StringComparer.Ordinal);
        _eventActions = new(options.Events.Where(e => e.Contains('.', StringComparison.Ordinal)), StringComparer.Ordinal);
        _installations = [.. options.Installations];
        _repositories = new(options.Repositories, StringComparer.OrdinalIgnoreCase);
    }

    public bool Matches(string @event, string? action, long? installationId, string? repositoryFullName)
    {
        if (!_anyEvent && !_events.Contains(@event) && (action is null || !_eventActions.Contains($"{@event}.{action}")))
        {
            return false;
        }

        if (_installations.Count > 0 && (installationId is not { } installation || !_installations.Contains(installation)))
        {
            return false;
        }

        return _repositories.Count == 0 || (repositoryFullName is not null && _repositories.Contains(repositoryFullName));
    }
}
