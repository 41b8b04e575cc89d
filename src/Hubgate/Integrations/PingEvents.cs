using System.Globalization;
using Hubgate.Apps;
using Hubgate.Storage;
using Hubgate.Webhooks;
using Microsoft.Extensions.Logging;

namespace Hubgate.Integrations;

/// <summary>
/// <c>ping</c>: the hook id and App id GitHub is delivering for, kept in <c>app_state</c> under the delivery's App. A ping
/// naming another App than the one whose route it came to (its <c>AppId</c>) is logged as a warning: that webhook URL is
/// pointed at the wrong App (or the wrong Hubgate).
/// </summary>
internal sealed partial class PingEvents(HubgateDbContext db, GitHubApps apps, TimeProvider time, ILogger<PingEvents> logger)
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

        if (appId is { } pinged && apps.TryGet(context.App, out var app) && app.Options.AppId is { } configured && pinged != configured)
        {
            Log.OtherApp(logger, pinged, context.App, configured, app.Options.ConfigurationPrefix + ":AppId");
        }
        else
        {
            Log.Pinged(logger, context.App, hookId, appId);
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
        [LoggerMessage(EventId = 500, Level = LogLevel.Information, Message = "GitHub pinged App {App}'s webhook (hook {HookId}, App id {AppId})")]
        public static partial void Pinged(ILogger logger, string app, long? hookId, long? appId);

        [LoggerMessage(EventId = 501, Level = LogLevel.Warning,
            Message = "GitHub pinged the webhook for App id {PingedAppId}, but it came to App {App}'s webhook URL, configured as App id {ConfiguredAppId} ({AppIdKey}): this webhook belongs to another App")]
        public static partial void OtherApp(ILogger logger, long pingedAppId, string app, long configuredAppId, string appIdKey);
    }
}
