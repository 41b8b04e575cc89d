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
            problems.Add($"{field("Kind")} must be Http, Stream or RabbitMq (was {(int)options.Kind})");
        }
        else if (options.Kind == SubscriptionKind.Local)
        {
            problems.Add($"{field("Kind")}: Local is the built-in subscription '{LocalName}'; declare Http, Stream or RabbitMq");
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
        else if (options.Kind == SubscriptionKind.RabbitMq)
        {
            // Configuration keys nest with ':' (Subscriptions:bus:RabbitMq:Uri); the API's JSON members with '.' (rabbitMq.uri).
            var section = field("RabbitMq");
            string Rabbit(string name) => section.Contains(':', StringComparison.Ordinal)
                ? $"{section}:{name}"
                : $"{section}.{System.Text.Json.JsonNamingPolicy.CamelCase.ConvertName(name)}";
            if (!string.IsNullOrEmpty(options.Url))
            {
                problems.Add($"{field("Url")} is for Http subscriptions; a RabbitMq subscription's broker is {Rabbit("Uri")}");
            }

            if (options.Secret is not null)
            {
                problems.Add($"{field("Secret")} is for Http subscriptions; a RabbitMq subscription's messages are not signed (the broker's user and password are in {Rabbit("Uri")})");
            }

            RabbitMqProblems(options.RabbitMq, Rabbit, problems);
        }

        if (options.Kind != SubscriptionKind.RabbitMq && options.RabbitMq is not null)
        {
            problems.Add($"{field("RabbitMq")} is for RabbitMq subscriptions (Kind is {options.Kind})");
        }

        if ((options.Secret is not null && options.Kind != SubscriptionKind.RabbitMq) || (secretRequired && options.Kind == SubscriptionKind.Http))
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

    /// <summary>A RabbitMQ subscription's broker settings; <paramref name="field"/> names one of them.</summary>
    private static void RabbitMqProblems(RabbitMq.RabbitMqOptions? rabbit, Func<string, string> field, List<string> problems)
    {
        if (rabbit is null || string.IsNullOrWhiteSpace(rabbit.Uri))
        {
            problems.Add($"{field("Uri")} is required for a RabbitMq subscription: amqp://user:password@host:5672/vhost or amqps://…");
            return;
        }

        // Never quote the URI itself: it carries the broker's password.
        var masked = RabbitMq.BrokerUri.Masked(rabbit.Uri);
        if (!Uri.TryCreate(rabbit.Uri, UriKind.Absolute, out var uri) || uri.Scheme is not ("amqp" or "amqps") || string.IsNullOrEmpty(uri.Host))
        {
            problems.Add($"{field("Uri")} must be an amqp:// or amqps:// URI with a host (was '{masked}')");
        }
        else if (!string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.Fragment) || uri.AbsolutePath.TrimStart('/').Contains('/', StringComparison.Ordinal))
        {
            problems.Add($"{field("Uri")} must be amqp(s)://user:password@host:port/vhost with no query, fragment or further path (write a vhost's '/' as %2F; was '{masked}')");
        }

        if (string.IsNullOrEmpty(rabbit.Exchange) || !ExchangePattern().IsMatch(rabbit.Exchange))
        {
            problems.Add($"{field("Exchange")} must be 1 to 255 of A-Z, a-z, 0-9, '-', '_', '.' and ':' (was '{rabbit.Exchange}')");
        }
        else if (rabbit.Exchange.StartsWith("amq.", StringComparison.Ordinal) && rabbit.DeclareExchange)
        {
            problems.Add($"{field("Exchange")}: names starting with 'amq.' are the broker's own and cannot be declared; set {field("DeclareExchange")} to false to publish to '{rabbit.Exchange}'");
        }

        if (RabbitMq.RoutingKeyTemplate.Parse(rabbit.RoutingKey, out var problem) is null)
        {
            problems.Add($"{field("RoutingKey")} {problem}");
        }
    }

    [GeneratedRegex("^[A-Za-z0-9_.:-]{1,255}$")]
    private static partial Regex ExchangePattern();

    [GeneratedRegex("^[a-z0-9-]{1,64}$")]
    private static partial Regex NamePattern();

    [GeneratedRegex("^[a-z_]{1,64}(\\.[a-z_]{1,64})?$")]
    private static partial Regex EventPattern();

    [GeneratedRegex("^[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}$")]
    private static partial Regex RepositoryPattern();
}
