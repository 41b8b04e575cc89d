using System.Text.Json;

namespace Hubgate.Webhooks;

/// <summary>
/// One stored delivery as a handler sees it: who sent what, the raw JSON, and typed access to the payload. A
/// delivery can reach a handler more than once (at-least-once), so handlers must be idempotent.
/// </summary>
public sealed class WebhookContext
{
    /// <summary>GitHub's names are snake_case: <c>full_name</c> binds to <c>FullName</c>.</summary>
    internal static readonly JsonSerializerOptions PayloadJson = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
    };

    private JsonDocument? _document;
    private readonly Dictionary<Type, object?> _payloads = [];

    internal WebhookContext(string app, long sequence, string deliveryId, string @event, string? action, long? installationId, long? repositoryId,
        DateTimeOffset receivedAt, int attempt, ReadOnlyMemory<byte> body, IServiceProvider services)
    {
        App = app;
        Sequence = sequence;
        DeliveryId = deliveryId;
        Event = @event;
        Action = action;
        InstallationId = installationId;
        RepositoryId = repositoryId;
        ReceivedAt = receivedAt;
        Attempt = attempt;
        Body = body;
        Services = services;
    }

    /// <summary>
    /// The name of the GitHub App the delivery was sent to (<c>default</c> for today's single App). Installation and
    /// repository ids are unique only within one App's GitHub instance: read and write rows of this App only.
    /// </summary>
    public string App { get; }

    /// <summary>The inbox's sequence number (order of receipt).</summary>
    public long Sequence { get; }

    /// <summary><c>X-GitHub-Delivery</c> (or the body's SHA-256 when GitHub sent none).</summary>
    public string DeliveryId { get; }

    /// <summary><c>X-GitHub-Event</c>: <c>push</c>, <c>pull_request</c>, …</summary>
    public string Event { get; }

    /// <summary>The payload's <c>action</c>, when it has one.</summary>
    public string? Action { get; }

    /// <summary>The payload's <c>installation.id</c>, when it has one.</summary>
    public long? InstallationId { get; }

    /// <summary>The payload's <c>repository.id</c>, when it has one.</summary>
    public long? RepositoryId { get; }

    /// <summary>When Hubgate stored the delivery.</summary>
    public DateTimeOffset ReceivedAt { get; }

    /// <summary>1 on the first attempt, 2 on the first retry, …</summary>
    public int Attempt { get; }

    /// <summary>
    /// The payload's JSON exactly as GitHub sent it (for a webhook configured with <c>content_type: form</c>, the decoded
    /// <c>payload</c> field; the inbox keeps the form body as it was signed).
    /// </summary>
    public ReadOnlyMemory<byte> Body { get; }

    /// <summary>The delivery's DI scope: one per delivery, shared by its handlers.</summary>
    public IServiceProvider Services { get; }

    /// <summary>The parsed payload (parsed once, on first use).</summary>
    public JsonElement Json => (_document ??= JsonDocument.Parse(Body)).RootElement;

    /// <summary>
    /// The payload deserialized as <typeparamref name="T"/> — an Octokit.Webhooks event record such as
    /// <c>Octokit.Webhooks.Events.PushEvent</c>, or a type of your own. Deserialized once per type.
    /// </summary>
    public T Payload<T>()
    {
        if (!_payloads.TryGetValue(typeof(T), out var payload))
        {
            payload = JsonSerializer.Deserialize<T>(Body.Span, PayloadJson);
            _payloads[typeof(T)] = payload;
        }

        return (T)payload!;
    }

    /// <summary>The first reason given to <see cref="Ignore"/>.</summary>
    public string? IgnoredReason { get; private set; }

    internal bool IgnoredByCurrentHandler { get; private set; }

    /// <summary>
    /// Says this handler passes on the delivery, and why (shown in the deliveries API). Other handlers still run; the
    /// delivery ends <c>ignored</c> with this reason when every handler passed on it, <c>processed</c> otherwise.
    /// </summary>
    public void Ignore(string reason)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        IgnoredReason ??= reason;
        IgnoredByCurrentHandler = true;
    }

    internal void BeginHandler() => IgnoredByCurrentHandler = false;

    internal void Release() => _document?.Dispose();
}

/// <summary>A handler class for one or more events; resolved from the delivery's scope.</summary>
public interface IWebhookHandler
{
    /// <summary>
    /// Handles one delivery. Throwing fails the attempt and the delivery is retried; call
    /// <see cref="WebhookContext.Ignore"/> to mark it ignored instead.
    /// </summary>
    Task HandleAsync(WebhookContext context, CancellationToken cancellationToken);
}

/// <summary>A handler registered for an event name (or <c>*</c>) and optionally one action.</summary>
internal sealed class WebhookRegistration
{
    public WebhookRegistration(string @event, string? action, Func<WebhookContext, CancellationToken, Task> handle, string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(@event);
        ArgumentNullException.ThrowIfNull(handle);
        Event = @event;
        Action = action;
        Handle = handle;
        Name = name;
    }

    public string Event { get; }
    public string? Action { get; }
    public Func<WebhookContext, CancellationToken, Task> Handle { get; }

    /// <summary>Shown in logs and in a failed delivery's error.</summary>
    public string Name { get; }

    public bool Matches(string @event, string? action) =>
        (Event == "*" || string.Equals(Event, @event, StringComparison.Ordinal)) &&
        (Action is null || string.Equals(Action, action, StringComparison.Ordinal));
}
