using Hubgate.Webhooks;

namespace Hubgate.Integrations;

/// <summary>
/// When an event happened, for deciding state in GitHub's order rather than in arrival order: retries, replays and
/// redeliveries reorder events, so an event changes an installation's or a repository's status only when it is not
/// older than the event that last decided it (ties go to the later arrival).
/// </summary>
/// <remarks>
/// The time is a payload field that really is the event's time (<c>installation.suspended_at</c> for a suspend,
/// <c>repository.updated_at</c> for an archive, <c>repository.pushed_at</c> for a push), else when Hubgate first
/// received the delivery: that stays with the stored delivery, so a retry or a replay keeps it. Not every payload time
/// qualifies: GitHub leaves <c>installation.updated_at</c> alone on unsuspend and when repositories are added or
/// removed, so those events are timed by their receipt.
/// </remarks>
internal static class EventTime
{
    /// <summary><paramref name="payloadTime"/> when the payload has it, else when the delivery was received.</summary>
    public static DateTimeOffset Of(WebhookContext context, DateTimeOffset? payloadTime = null) => payloadTime ?? context.ReceivedAt;

    /// <summary>True when an event at <paramref name="eventAt"/> may decide state last decided at <paramref name="decidedAt"/>.</summary>
    public static bool IsCurrent(DateTimeOffset? decidedAt, DateTimeOffset eventAt) => decidedAt is null || eventAt >= decidedAt;

    /// <summary>The later of the two: a state-deciding time never moves back.</summary>
    public static DateTimeOffset Latest(DateTimeOffset? decidedAt, DateTimeOffset eventAt) =>
        decidedAt is { } previous && previous > eventAt ? previous : eventAt;
}
