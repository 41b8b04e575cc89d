using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Hubgate.Webhooks.Subscriptions;

/// <summary>
/// The <c>Subscriptions</c> section: <c>Subscriptions:AllowLoopback</c>, and every other child a subscription by its
/// name (<c>Subscriptions:ci:Url</c>, …). Read by <see cref="SubscriptionsConfiguration"/>; what cannot work is in
/// <see cref="Problems"/> and stops start-up (<see cref="SubscriptionsOptionsValidator"/>), each naming its key.
/// </summary>
internal sealed class SubscriptionsOptions
{
    public const string SectionName = "Subscriptions";

    /// <summary>The one setting of the section that is not a subscription.</summary>
    public const string AllowLoopbackKey = "AllowLoopback";

    /// <summary>Whether HTTP subscriptions may be delivered to loopback addresses (tests, a sidecar on the same host).</summary>
    public bool AllowLoopback { get; set; }

    /// <summary>The subscriptions declared in configuration, by name.</summary>
    public Dictionary<string, SubscriptionOptions> Declared { get; } = new(StringComparer.Ordinal);

    /// <summary>Why the section cannot be used as written; empty when it can.</summary>
    public List<string> Problems { get; } = [];
}

/// <summary>Reads the <c>Subscriptions</c> section into <see cref="SubscriptionsOptions"/>, collecting problems rather than throwing.</summary>
internal sealed class SubscriptionsConfiguration(IConfiguration configuration) : IConfigureOptions<SubscriptionsOptions>
{
    public void Configure(SubscriptionsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        foreach (var child in configuration.GetSection(SubscriptionsOptions.SectionName).GetChildren())
        {
            if (string.Equals(child.Key, SubscriptionsOptions.AllowLoopbackKey, StringComparison.OrdinalIgnoreCase))
            {
                if (bool.TryParse(child.Value, out var allow))
                {
                    options.AllowLoopback = allow;
                }
                else
                {
                    options.Problems.Add($"{child.Path} must be true or false (was '{child.Value}').");
                }

                continue;
            }

            if (SubscriptionValidation.NameProblem(child.Key) is { } nameProblem)
            {
                options.Problems.Add($"{child.Path}: {nameProblem}.");
                continue;
            }

            if (child.Key == SubscriptionValidation.LocalName)
            {
                options.Problems.Add($"{child.Path}: '{SubscriptionValidation.LocalName}' is the built-in subscription (the model and the " +
                                     "in-process handlers); its retries are set under Webhooks:*. Give your subscription another name.");
                continue;
            }

            // The binder skips a list element it cannot convert rather than naming it: check the delays first.
            var badDelays = child.GetSection(nameof(SubscriptionOptions.Retry)).GetChildren()
                .Where(d => !TimeSpan.TryParse(d.Value, System.Globalization.CultureInfo.InvariantCulture, out _))
                .Select(d => $"{d.Path} must be a duration such as 00:05:00 (was '{d.Value}').")
                .ToList();
            if (badDelays.Count > 0)
            {
                options.Problems.AddRange(badDelays);
                continue;
            }

            var subscription = new SubscriptionOptions();
            try
            {
                child.Bind(subscription, binder => binder.ErrorOnUnknownConfiguration = true);
            }
            catch (InvalidOperationException e)
            {
                // The binder names the key and the value it could not convert, or the key it does not know.
                options.Problems.Add($"{child.Path}: {e.Message}");
                continue;
            }

            var problems = SubscriptionValidation.Problems(subscription, field => $"{child.Path}:{field}", secretRequired: true);
            if (problems.Count > 0)
            {
                options.Problems.AddRange(problems.Select(p => p.EndsWith('.') ? p : p + "."));
                continue;
            }

            options.Declared.Add(child.Key, subscription);
        }
    }
}

/// <summary>Stops start-up when the <c>Subscriptions</c> section cannot be used as written, with every problem named.</summary>
internal sealed class SubscriptionsOptionsValidator : IValidateOptions<SubscriptionsOptions>
{
    public ValidateOptionsResult Validate(string? name, SubscriptionsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.Problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(options.Problems);
    }
}
