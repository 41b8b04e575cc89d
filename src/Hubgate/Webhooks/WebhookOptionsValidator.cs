using Microsoft.Extensions.Options;

namespace Hubgate.Webhooks;

/// <summary>
/// Start-up validation of <see cref="WebhookOptions"/>, with messages that name the key: the rules that span fields or
/// need words of their own; each setting's range is <see cref="WebhookOptionsRangeValidator"/>'s.
/// </summary>
internal sealed class WebhookOptionsValidator : IValidateOptions<WebhookOptions>
{
    public ValidateOptionsResult Validate(string? name, WebhookOptions options)
    {
        var failures = new List<string>();
        if (options.LeaseDuration < TimeSpan.FromSeconds(1) || options.LeaseDuration > TimeSpan.FromHours(1))
        {
            failures.Add($"Webhooks:LeaseDuration must be between 00:00:01 and 01:00:00 (got {options.LeaseDuration}).");
        }

        if (options.HeartbeatInterval is { } beat && (beat <= TimeSpan.Zero || beat >= options.LeaseDuration))
        {
            failures.Add($"Webhooks:HeartbeatInterval must be more than zero and less than Webhooks:LeaseDuration ({options.LeaseDuration}), " +
                         $"or unset for a third of it (got {beat}).");
        }

        if (options.RetryDelay > options.MaxRetryDelay)
        {
            failures.Add($"Webhooks:RetryDelay ({options.RetryDelay}) must not be longer than Webhooks:MaxRetryDelay ({options.MaxRetryDelay}).");
        }

        if (options.HandlerTimeout <= TimeSpan.Zero || options.HandlerTimeout > TimeSpan.FromDays(1))
        {
            failures.Add($"Webhooks:HandlerTimeout must be more than zero and at most 1.00:00:00 (got {options.HandlerTimeout}).");
        }

        if (options.RecoverInterval is { } every && every < TimeSpan.Zero)
        {
            failures.Add($"Webhooks:RecoverInterval must not be negative (got {every}); unset or zero turns periodic recovery off.");
        }

        if (options.RecoverLookback <= TimeSpan.Zero)
        {
            failures.Add($"Webhooks:RecoverLookback must be more than zero (got {options.RecoverLookback}).");
        }

        if (options.MaxUnverifiedBytesInFlight < WebhookOptions.GitHubMaxBodyBytes)
        {
            failures.Add($"Webhooks:MaxUnverifiedBytesInFlight must be at least {WebhookOptions.GitHubMaxBodyBytes} (25 MiB, GitHub's largest delivery; got {options.MaxUnverifiedBytesInFlight}).");
        }

        if (options.MaxRetention < options.Retention)
        {
            failures.Add($"Webhooks:MaxRetention ({options.MaxRetention}) must not be shorter than Webhooks:Retention ({options.Retention}).");
        }

        if (options.RecoverEvents.Any(string.IsNullOrWhiteSpace))
        {
            failures.Add("Webhooks:RecoverEvents must list event names (push, pull_request, …), without empty entries.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>The ranges of <see cref="WebhookOptions"/>' settings (<see cref="ConfigurationRangeAttribute"/>), checked by generated code.</summary>
[OptionsValidator]
internal sealed partial class WebhookOptionsRangeValidator : IValidateOptions<WebhookOptions>;
