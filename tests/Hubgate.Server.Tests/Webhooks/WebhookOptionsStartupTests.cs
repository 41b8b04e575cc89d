using Hubgate.Server.Tests.Infrastructure;

namespace Hubgate.Server.Tests.Webhooks;

/// <summary>
/// A webhook or sync setting out of range stops the server at start-up, naming the key and the value, instead of
/// being clamped where it is used.
/// </summary>
public sealed class WebhookOptionsStartupTests
{
    [Theory]
    [InlineData("Webhooks:MaxAttempts", "0", "Webhooks:MaxAttempts must be between 1 and 1000 (was 0).")]
    [InlineData("Webhooks:ClaimBatchSize", "0", "Webhooks:ClaimBatchSize must be between 1 and 1000 (was 0).")]
    [InlineData("Webhooks:MaxBatchSize", "-5", "Webhooks:MaxBatchSize must be between 1 and 10000 (was -5).")]
    [InlineData("Webhooks:PollInterval", "00:00:00", "Webhooks:PollInterval must be between 00:00:00.0010000 and 01:00:00 (was 00:00:00).")]
    [InlineData("Webhooks:StoreTimeout", "00:00:00", "Webhooks:StoreTimeout must be between")]
    [InlineData("Webhooks:RetryDelay", "-00:00:01", "Webhooks:RetryDelay must be between 00:00:00 and 1.00:00:00 (was -00:00:01).")]
    [InlineData("Webhooks:MaxRetryDelay", "00:00:05", "Webhooks:RetryDelay (00:00:10) must not be longer than Webhooks:MaxRetryDelay (00:00:05).")]
    [InlineData("Webhooks:ReplayWindow", "-01:00:00", "Webhooks:ReplayWindow must be between")]
    [InlineData("GitHub:SyncInterval", "-01:00:00", "GitHub:SyncInterval must be between 00:00:00 and 365.00:00:00 (was -01:00:00).")]
    [InlineData("Hubgate:FailedKeyLimitPerMinute", "0", "Hubgate:FailedKeyLimitPerMinute must be at least 1")]
    public void SettingOutOfRange_StopsTheStart_NamingTheKeyAndValue(string key, string value, string message)
    {
        var failure = StartupFailure.Of(key, value);

        Assert.Contains(message, failure.Message, StringComparison.Ordinal);
    }
}
