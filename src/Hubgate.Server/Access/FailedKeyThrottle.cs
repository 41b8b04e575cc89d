using System.Globalization;
using System.Threading.RateLimiting;
using Hubgate.Problems;
using Hubgate.Server.Api;
using Microsoft.Extensions.Options;

namespace Hubgate.Server.Access;

/// <summary>
/// Failed key checks per remote address (ASP.NET Core's fixed-window rate limiter): up to
/// <c>Hubgate:FailedKeyLimitPerMinute</c> a minute are answered 401; past that the address is answered 429 with
/// Retry-After until the minute is over — whatever key it presents, or a 429 would tell the right key from the wrong
/// ones. Requests with a good key from an address under its limit consume nothing.
/// </summary>
internal sealed partial class FailedKeyThrottle : IDisposable
{
    private static readonly System.Diagnostics.Metrics.Counter<long> Throttled = Hubgate.Telemetry.HubgateTelemetry.Meter.CreateCounter<long>(
        "hubgate.access.throttled", "{request}", "Requests answered 429 because their remote address had too many failed key checks.");

    private readonly PartitionedRateLimiter<string> _limiter;
    private readonly ILogger<FailedKeyThrottle> _logger;

    public FailedKeyThrottle(IOptions<ApiKeyOptions> options, ILogger<FailedKeyThrottle> logger)
    {
        _logger = logger;
        var limit = options.Value.FailedKeyLimitPerMinute; // at least 1: ClientOptionsValidator refuses less at start-up
        _limiter = PartitionedRateLimiter.Create<string, string>(address => RateLimitPartition.GetFixedWindowLimiter(address,
            _ => new FixedWindowRateLimiterOptions { PermitLimit = limit, Window = TimeSpan.FromMinutes(1), QueueLimit = 0, AutoReplenishment = true }));
    }

    /// <summary>The 429 to send when <paramref name="context"/>'s address has used up its failures; otherwise null.</summary>
    public IResult? Blocked(HttpContext context)
    {
        // Zero permits: succeeds while any are left, never consumes one.
        using var lease = _limiter.AttemptAcquire(Address(context), 0);
        return lease.IsAcquired ? null : TooMany(context, lease);
    }

    /// <summary>
    /// Counts a failed key check (logged once a minute per address, when it uses up the last one); the 429 to send
    /// instead of the 401 when it is one too many, otherwise null.
    /// </summary>
    public IResult? Failed(HttpContext context)
    {
        var address = Address(context);
        using var lease = _limiter.AttemptAcquire(address);
        if (!lease.IsAcquired)
        {
            return TooMany(context, lease);
        }

        if (_limiter.GetStatistics(address)?.CurrentAvailablePermits == 0)
        {
            Log.Throttled(_logger, address, context.Request.Method, context.Request.Path);
        }

        return null;
    }

    public void Dispose() => _limiter.Dispose();

    private static string Address(HttpContext context) => context.Connection.RemoteIpAddress?.ToString() ?? "unknown";

    private static Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult TooMany(HttpContext context, RateLimitLease lease)
    {
        Throttled.Add(1);
        var seconds = lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)) : 60;
        context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        return HubgateProblems.Result(HubgateProblems.TooManyFailedKeys,
            $"too many failed key checks from this address; try again in {seconds} s (Hubgate:FailedKeyLimitPerMinute)",
            new KeyValuePair<string, object?>("retryAfter", seconds));
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 425, Level = LogLevel.Warning,
            Message = "Too many failed key checks from {RemoteAddress} (the last: {Method} {Path}); its requests are answered 429 until the minute is over (Hubgate:FailedKeyLimitPerMinute)")]
        public static partial void Throttled(ILogger logger, string remoteAddress, string method, string path);
    }
}
