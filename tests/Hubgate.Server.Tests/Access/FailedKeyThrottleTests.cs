using System.Net;
using Hubgate.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace Hubgate.Server.Tests.Access;

/// <summary>
/// Failed key checks are limited per remote address (<c>Hubgate:FailedKeyLimitPerMinute</c>): past the limit that
/// address gets 429 with Retry-After whatever key it presents, other addresses are unaffected, and good keys consume
/// nothing.
/// </summary>
public sealed class FailedKeyThrottleTests : IDisposable
{
    private const string Key = "throttle-admin-key-8c2a";
    private const string WrongKey = "throttle-wrong-key-5e19";
    private readonly HubgateApplication _app = new(new Dictionary<string, string?>
    {
        ["Hubgate:ApiKey"] = Key,
        ["Hubgate:FailedKeyLimitPerMinute"] = "3",
        ["Webhooks:RunWorker"] = "false",
    });

    public void Dispose() => _app.Dispose();

    private async Task<HttpResponse> SendAsync(string address, string key, string path = "/api/installations")
    {
        var context = await _app.Server.SendAsync(c =>
        {
            c.Request.Method = "GET";
            c.Request.Path = path;
            c.Request.Headers.Authorization = new StringValues("Bearer " + key);
            c.Connection.RemoteIpAddress = IPAddress.Parse(address);
        });
        return context.Response;
    }

    [Fact]
    public async Task PastTheLimit_AnAddressGets429WithRetryAfter_EvenWithTheRightKey_OthersDoNot()
    {
        for (var attempt = 1; attempt <= 3; attempt++)
        {
            Assert.Equal(401, (await SendAsync("10.0.0.1", WrongKey)).StatusCode);
        }

        var throttled = await SendAsync("10.0.0.1", WrongKey);
        Assert.Equal(429, throttled.StatusCode);
        Assert.InRange(int.Parse(throttled.Headers.RetryAfter.ToString(), System.Globalization.CultureInfo.InvariantCulture), 1, 60);
        Assert.Equal(429, (await SendAsync("10.0.0.1", Key)).StatusCode); // or a 429 would tell the right key from the wrong ones
        Assert.Equal(429, (await SendAsync("10.0.0.1", WrongKey, "/proxy/installations/1/repos/acme/api")).StatusCode);

        Assert.Equal(200, (await SendAsync("10.0.0.2", Key)).StatusCode);
        Assert.Equal(401, (await SendAsync("10.0.0.2", WrongKey)).StatusCode);
    }

    [Fact]
    public async Task Each429_IsCounted()
    {
        using var throttled = new Microsoft.Extensions.Diagnostics.Metrics.Testing.MetricCollector<long>(null, "Hubgate", "hubgate.access.throttled");
        for (var attempt = 1; attempt <= 5; attempt++)
        {
            await SendAsync("10.0.0.5", WrongKey);
        }

        // At least: the meter is process-wide and other tests run alongside.
        Assert.True(throttled.GetMeasurementSnapshot().Sum(m => m.Value) >= 2);
    }

    [Fact]
    public async Task RequestsWithTheRightKey_AreNotCounted()
    {
        for (var attempt = 1; attempt <= 10; attempt++)
        {
            Assert.Equal(200, (await SendAsync("10.0.0.3", Key)).StatusCode);
        }

        for (var attempt = 1; attempt <= 3; attempt++)
        {
            Assert.Equal(401, (await SendAsync("10.0.0.3", WrongKey)).StatusCode);
        }
    }

    [Fact]
    public async Task Throttling_IsLoggedAsAWarning_WithTheAddress_NeverTheKey()
    {
        var statuses = new List<int>();
        for (var attempt = 1; attempt <= 4; attempt++)
        {
            statuses.Add((await SendAsync("10.0.0.4", WrongKey)).StatusCode);
        }

        Assert.Equal([401, 401, 401, 429], statuses);

        var warning = Assert.Single(_app.Logs.GetSnapshot(), r => r.Id.Id == 425);
        Assert.Equal(Microsoft.Extensions.Logging.LogLevel.Warning, warning.Level);
        Assert.Contains("10.0.0.4", warning.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(WrongKey, _app.AllLogText(), StringComparison.Ordinal);
    }
}
