using System.Globalization;
using Hubgate.Authentication;
using Hubgate.Storage;
using Hubgate.Webhooks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hubgate.Integrations;

/// <summary>
/// <c>ping</c>: the hook id and App id GitHub is delivering for, kept in <c>app_state</c> under the delivery's App. A ping from another App
/// than <c>GitHub:AppId</c> is logged as a warning: the webhook URL is pointed at the wrong Hubgate.
/// </summary>
internal sealed partial class PingEvents(HubgateDbContext db, IOptions<GitHubAppOptions> app, TimeProvider time, ILogger<PingEvents> logger)
    : IWebhookHandler
{
    public const string HookIdKey = "webhook.hook_id";
    public const string AppIdKey = "webhook.app_id";
    public const string PingedAtKey = "webhook.pinged_at";

    public async Task HandleAsync(WebhookContext context, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var hook = context.Json.Object("hook");
        var hookId = context.Json.Int64("hook_id") ?? hook?.Int64("id");
        var appId = hook?.Int64("app_id");
        await SetAsync(context.App, HookIdKey, hookId?.ToString(CultureInfo.InvariantCulture), now, cancellationToken).ConfigureAwait(false);
        await SetAsync(context.App, AppIdKey, appId?.ToString(CultureInfo.InvariantCulture), now, cancellationToken).ConfigureAwait(false);
        await SetAsync(context.App, PingedAtKey, now.ToString("O", CultureInfo.InvariantCulture), now, cancellationToken).ConfigureAwait(false);
        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);

        if (appId is { } pinged && app.Value.AppId is { } configured && pinged != configured)
        {
            Log.OtherApp(logger, pinged, configured);
        }
        else
        {
            Log.Pinged(logger, hookId, appId);
        }
    }

    private async Task SetAsync(string appName, string key, string? value, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var row = await db.AppState.FindAsync([appName, key], cancellationToken).ConfigureAwait(false);
        if (row is null)
        {
            db.AppState.Add(new AppStateEntity { App = appName, Key = key, Value = value, UpdatedAt = now });
            return;
        }

        row.Value = value;
        row.UpdatedAt = now;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 500, Level = LogLevel.Information, Message = "GitHub pinged the webhook (hook {HookId}, App {AppId})")]
        public static partial void Pinged(ILogger logger, long? hookId, long? appId);

        [LoggerMessage(EventId = 501, Level = LogLevel.Warning,
            Message = "GitHub pinged the webhook for App {PingedAppId}, but Hubgate is configured as App {ConfiguredAppId} (GitHub:AppId): this webhook belongs to another App")]
        public static partial void OtherApp(ILogger logger, long pingedAppId, long configuredAppId);
    }
}
