using System.Diagnostics.Metrics;
using Hubgate.Telemetry;

namespace Hubgate.Server.Proxy;

/// <summary>The proxy's access log and metrics: what was sent to GitHub, never a key, token or query string.</summary>
internal static partial class ProxyTelemetry
{
    private static readonly Counter<long> Requests = HubgateTelemetry.Meter.CreateCounter<long>("hubgate.proxy.requests", "{request}",
        "Requests forwarded by the proxy, by client, App, installation, method, route template (ids and names replaced) and status.");

    public static void Proxied(ILogger logger, string client, string app, string method, string path, long? installationId, int status)
    {
        Log.Proxied(logger, client, app, method, path, installationId, status);
        Requests.Add(1,
            new KeyValuePair<string, object?>("client", client),
            new KeyValuePair<string, object?>("app", app),
            new KeyValuePair<string, object?>("installation", installationId),
            new KeyValuePair<string, object?>("method", method),
            new KeyValuePair<string, object?>("route", ProxyRouteTemplate.Of(path)),
            new KeyValuePair<string, object?>("status", status));
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 411, Level = LogLevel.Information, Message = "Proxied {Method} {Path} for client {Client} (App {App}, installation {InstallationId}): {Status}")]
        public static partial void Proxied(ILogger logger, string client, string app, string method, string path, long? installationId, int status);
    }
}
