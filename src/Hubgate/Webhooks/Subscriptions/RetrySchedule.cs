namespace Hubgate.Webhooks.Subscriptions;

/// <summary>
/// When a subscription tries a delivery again: the first attempt at once, then after each delay of the list in turn
/// (each with ±20 % jitter, so a destination coming back is not met by every retry at once); after the last, the
/// delivery is dead for that subscription. The default is Svix's schedule: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h
/// (eight attempts over about 27 hours).
/// </summary>
internal static class RetrySchedule
{
    public static IReadOnlyList<TimeSpan> Default { get; } =
    [
        TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(30), TimeSpan.FromHours(2),
        TimeSpan.FromHours(5), TimeSpan.FromHours(10), TimeSpan.FromHours(10),
    ];

    /// <summary>
    /// The delay before the attempt after attempt number <paramref name="attempt"/> (1-based) failed, jittered by
    /// <paramref name="jitter"/> in [0, 1) (0.5 = none); null when that was the last attempt.
    /// </summary>
    public static TimeSpan? After(IReadOnlyList<TimeSpan> retries, int attempt, double jitter)
    {
        ArgumentNullException.ThrowIfNull(retries);
        if (attempt < 1 || attempt > retries.Count)
        {
            return null;
        }

        var factor = 0.8 + (Math.Clamp(jitter, 0, 1) * 0.4);
        return TimeSpan.FromTicks((long)(retries[attempt - 1].Ticks * factor));
    }

    /// <summary>Null when <paramref name="retries"/> can be used; otherwise what is wrong with it.</summary>
    public static string? Problem(IReadOnlyList<TimeSpan> retries)
    {
        if (retries.Count == 0)
        {
            return "is empty; give at least one delay (e.g. Retry:0=00:00:05), or leave it out for the default schedule";
        }

        for (var i = 0; i < retries.Count; i++)
        {
            if (retries[i] < TimeSpan.Zero)
            {
                return $"has a negative delay at {i} ({retries[i]})";
            }

            if (i > 0 && retries[i] < retries[i - 1])
            {
                return $"is not in order: {retries[i]} at {i} is shorter than {retries[i - 1]} before it";
            }
        }

        return null;
    }
}
