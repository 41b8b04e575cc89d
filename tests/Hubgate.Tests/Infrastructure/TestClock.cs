using Microsoft.Extensions.Time.Testing;

namespace Hubgate.Tests.Infrastructure;

/// <summary>
/// A clock for tests: the wall clock (what time it is) comes from a <see cref="FakeTimeProvider"/> the test moves
/// by hand, while timers, delays and elapsed-time stamps run in real time. Token expiry, JWT claims and refresh
/// windows obey the fake wall clock; retry back-offs and request timeouts (Polly reads the same provider) still
/// elapse, so a test never stalls waiting for a delay nobody advances.
/// </summary>
internal sealed class TestClock(FakeTimeProvider wall) : TimeProvider
{
    public FakeTimeProvider Wall { get; } = wall;

    public override DateTimeOffset GetUtcNow() => Wall.GetUtcNow();

    public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;

    public override long TimestampFrequency => System.TimestampFrequency;

    public override long GetTimestamp() => System.GetTimestamp();

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
        System.CreateTimer(callback, state, dueTime, period);
}
