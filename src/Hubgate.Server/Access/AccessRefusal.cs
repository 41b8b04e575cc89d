using Hubgate.Problems;
using Hubgate.Telemetry;

namespace Hubgate.Server.Access;

/// <summary>
/// A request outside its client's policy: 403 problem details (<see cref="HubgateProblems.AccessRefused"/>) with extension <c>rule</c> naming the rule and the setting that
/// grants it (never the key), logged and counted by client and rule.
/// </summary>
internal sealed partial record AccessRefusal(string Client, string Rule, string Message)
{
    private static readonly System.Diagnostics.Metrics.Counter<long> Refusals = HubgateTelemetry.Meter.CreateCounter<long>(
        "hubgate.access.refusals", "{request}", "Requests refused by a client's policy before reaching GitHub, by client and rule.");

    public static AccessRefusal Admin(AccessClient client) =>
        new(client.Name, "admin", $"Client '{client.Name}' may not use the management API (Hubgate:Clients:{client.Name}:Admin).");

    public IResult ToResult(HttpContext context)
    {
        var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Hubgate.Server.Access");
        Log.Refused(logger, Client, context.Request.Method, Rule);
        Refusals.Add(1, new KeyValuePair<string, object?>("client", Client), new KeyValuePair<string, object?>("rule", Rule));
        return HubgateProblems.Result(HubgateProblems.AccessRefused, Message, new KeyValuePair<string, object?>("rule", Rule));
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 420, Level = LogLevel.Warning, Message = "Client {Client} refused a {Method} request by its policy (rule {Rule})")]
        public static partial void Refused(ILogger logger, string client, string method, string rule);
    }
}
