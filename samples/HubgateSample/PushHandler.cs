using System.Collections.Concurrent;
using Hubgate.Webhooks;
using Octokit.Webhooks.Events;

namespace HubgateSample;

/// <summary>
/// Handles <c>push</c>: runs in the background after Hubgate has verified and stored the delivery (and answered GitHub),
/// in a fresh DI scope; throwing makes Hubgate retry the delivery later.
/// </summary>
internal sealed partial class PushHandler(PushLog log, ILogger<PushHandler> logger) : IWebhookHandler
{
    public Task HandleAsync(WebhookContext context, CancellationToken cancellationToken)
    {
        var push = context.Payload<PushEvent>();
        var summary = new PushSummary(context.DeliveryId, push.Repository?.FullName, push.Ref, push.After, push.Commits.Count());
        log.Add(summary);
        Log.Pushed(logger, summary.DeliveryId, summary.Repository, summary.Ref, summary.Commits);
        return Task.CompletedTask;
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Push {DeliveryId} to {Repository} {Ref}: {Commits} commit(s)")]
        public static partial void Pushed(ILogger logger, string deliveryId, string? repository, string @ref, int commits);
    }
}

/// <summary>One handled push.</summary>
internal sealed record PushSummary(string DeliveryId, string? Repository, string Ref, string After, int Commits);

/// <summary>The pushes handled since the sample started (a real service would write them to its own store).</summary>
internal sealed class PushLog
{
    private readonly ConcurrentQueue<PushSummary> _pushes = new();

    public IReadOnlyList<PushSummary> All => [.. _pushes];

    public void Add(PushSummary push) => _pushes.Enqueue(push);
}
