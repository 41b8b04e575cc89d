using System.Text.RegularExpressions;

namespace Hubgate.Webhooks.Subscriptions;

/// <summary>
/// Whether a subscription can work, before it is stored or started: each problem is a sentence that names the field as
/// the caller wrote it (<c>Subscriptions:ci:Url</c> in configuration, <c>url</c> in the API) and never quotes a secret.
/// </summary>
internal static partial class SubscriptionValidation
{
    /// <summary>The built-in subscription: the model and the in-process handlers.</summary>
    public const string LocalName = "local";

    public const int MaxConcurrency = 256;

    /// <summary>Null when <paramref name="name"/> can name a subscription; otherwise why not.</summary>
    public static string? NameProblem(string? name) =>
        name is null || !NamePattern().IsMatch(name)
            ? $"'{name}' is not a subscription name: use 1 to 64 of a-z, 0-9 and '-'"
            : null;

    /// <summary>
    /// Every problem with <paramref name="options"/>; <paramref name="field"/> turns a property name into the name the
    /// caller used (e.g. <c>Url</c> → <c>Subscriptions:ci:Url</c>). <paramref name="secretRequired"/>: in configuration a
    /// generated secret could not be shown to anyone, so an HTTP subscription there must give one.
    /// </summary>
    public static List<string> Problems(SubscriptionOptions options, Func<string, string> field, bool secretRequired)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(field);
        var problems = new List<string>();
        if (!Enum.IsDefined(options.Kind))
        {
            problems.Add($"{field("Kind")} must be Http or Stream (was {(int)options.Kind})");
        }
        else if (options.Kind == SubscriptionKind.Local)
        {
            problems.Add($"{field("Kind")}: Local is the built-in subscription '{LocalName}'; declare Http or Stream");
        }

        if (options.Kind == SubscriptionKind.Http)
        {
            if (!Uri.TryCreate(options.Url, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https") || string.IsNullOrEmpty(url.Host))
            {
                problems.Add($"{field("Url")} must be an absolute http or https URL (was '{options.Url}')");
            }
            else if (!string.IsNullOrEmpty(url.UserInfo))
            {
                problems.Add($"{field("Url")} must not carry a user name or password; the subscription's Secret signs each delivery");
            }
        }
        else if (options.Kind == SubscriptionKind.Stream && !string.IsNullOrEmpty(options.Url))
        {
            problems.Add($"{field("Url")} is for Http subscriptions; a Stream subscription is read at /api/subscriptions/{{name}}/events");
        }

        if (options.Secret is not null || (secretRequired && options.Kind == SubscriptionKind.Http))
        {
            if (SubscriptionKey.Parse(options.Secret, out var secretError) is null)
            {
                problems.Add($"{field("Secret")} {secretError}");
            }
        }

        foreach (var entry in options.Events)
        {
            if (entry != "*" && !EventPattern().IsMatch(entry))
            {
                problems.Add($"{field("Events")} has '{entry}': use an event (push), an event and action (pull_request.closed) or *");
            }
        }

        foreach (var installation in options.Installations)
        {
            if (installation <= 0)
            {
                problems.Add($"{field("Installations")} has {installation}: installation ids are positive numbers");
            }
        }

        foreach (var repository in options.Repositories)
        {
            if (!RepositoryPattern().IsMatch(repository))
            {
                problems.Add($"{field("Repositories")} has '{repository}': use owner/name");
            }
        }

        if (!Enum.IsDefined(options.Ordering))
        {
            problems.Add($"{field("Ordering")} must be None, Repository or Installation");
        }

        if (options.Concurrency is < 1 or > MaxConcurrency)
        {
            problems.Add($"{field("Concurrency")} must be between 1 and {MaxConcurrency} (was {options.Concurrency})");
        }

        if (options.Retry is { } retry && RetrySchedule.Problem([.. retry]) is { } retryProblem)
        {
            problems.Add($"{field("Retry")} {retryProblem}");
        }

        if (options.Timeout <= TimeSpan.Zero || options.Timeout > TimeSpan.FromMinutes(10))
        {
            problems.Add($"{field("Timeout")} must be more than 0 and at most 00:10:00 (was {options.Timeout})");
        }

        if (options.DisableAfter <= TimeSpan.Zero)
        {
            problems.Add($"{field("DisableAfter")} must be more than 0 (was {options.DisableAfter})");
        }

        return problems;
    }

    [GeneratedRegex("^[a-z0-9-]{1,64}$")]
    private static partial Regex NamePattern();

    [GeneratedRegex("^[a-z_]{1,64}(\\.[a-z_]{1,64})?$")]
    private static partial Regex EventPattern();

    [GeneratedRegex("^[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}$")]
    private static partial Regex RepositoryPattern();
}
