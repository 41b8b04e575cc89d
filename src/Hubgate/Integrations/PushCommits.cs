using System.Globalization;
using System.Net;
using System.Text.Json;
using Hubgate.Authentication;
using Hubgate.Rest;
using Hubgate.Webhooks;
using Microsoft.Extensions.Logging;

namespace Hubgate.Integrations;

/// <summary>
/// The commits of a push that GitHub left out of its payload. A <c>push</c> payload lists at most
/// <see cref="PayloadLimit"/> commits (GitHub's documented cap; the payload has no count of its own), so a full list
/// means the push may have had more: they are read from the compare API,
/// <c>GET /repos/{owner}/{repo}/compare/{before}...{after}</c>, with the installation's token, every page of
/// <see cref="PerPage"/> (without paging parameters GitHub answers only the last 250 commits).
/// </summary>
internal sealed partial class PushCommits(GitHubClientFactory clients, ILogger<PushCommits> logger)
{
    /// <summary>The most commits GitHub puts in a push payload.</summary>
    public const int PayloadLimit = 2048;

    /// <summary>The largest page GitHub serves.</summary>
    public const int PerPage = 100;

    private const string NoCommit = "0000000000000000000000000000000000000000";

    /// <summary>True when the payload's commit list is full, so GitHub may have cut it.</summary>
    public static bool MayBeTruncated(JsonElement payload) => payload.Array("commits") is { } commits && commits.GetArrayLength() >= PayloadLimit;

    /// <summary>
    /// Every commit of the push as the compare API lists it (oldest first, REST commit objects), or null when GitHub
    /// cannot say and asking again would not help (no App credentials or the App removed, the installation suspended or gone, a base
    /// commit GitHub no longer has): the payload's commits are then all there is, and a warning says so.
    /// </summary>
    /// <exception cref="GitHubApiException">GitHub failed otherwise (5xx, rate limits): the delivery is retried.</exception>
    public async Task<List<JsonElement>?> ListAsync(WebhookContext context, JsonElement payload, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var repository = payload.Object("repository");
        var fullName = repository?.String("full_name");
        var head = payload.String("after");
        var @base = payload.String("before");
        if (@base == NoCommit)
        {
            // A new branch: GitHub's own compare link for it starts at the default branch.
            @base = repository?.String("default_branch");
        }

        if (context.InstallationId is not { } installationId || fullName is null || head is null || @base is null || @base == NoCommit)
        {
            Log.NotFetched(logger, context.DeliveryId, fullName, "the payload names no base and head to compare");
            return null;
        }

        var uri = new Uri(string.Create(CultureInfo.InvariantCulture,
            $"repos/{fullName}/compare/{Uri.EscapeDataString(@base)}...{Uri.EscapeDataString(head)}?per_page={PerPage}"), UriKind.Relative);
        var commits = new List<JsonElement>();
        try
        {
            using var client = clients.CreateHttpClient(context.App, installationId);
            await foreach (var commit in client.GetAllAsync(uri, "commits", cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                commits.Add(commit);
            }
        }
        catch (Exception e) when (e is GitHubAppNotConfiguredException or Apps.GitHubAppNotFoundException or InstallationNotFoundException or InstallationSuspendedException ||
                                  e is GitHubApiException { StatusCode: HttpStatusCode.NotFound or HttpStatusCode.UnprocessableEntity })
        {
            Log.NotFetched(logger, context.DeliveryId, fullName, e.Message);
            return null;
        }

        Log.Fetched(logger, commits.Count, fullName, context.DeliveryId);
        return commits;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 520, Level = LogLevel.Information,
            Message = "Push {DeliveryId} to {Repository} listed the most commits GitHub sends: read {Count} through the compare API")]
        public static partial void Fetched(ILogger logger, int count, string repository, string deliveryId);

        [LoggerMessage(EventId = 521, Level = LogLevel.Warning,
            Message = "Push {DeliveryId} to {Repository} may hold more commits than its payload lists, and they could not be read: {Reason}. The payload's commits are stored; the rest are missing")]
        public static partial void NotFetched(ILogger logger, string deliveryId, string? repository, string reason);
    }
}
