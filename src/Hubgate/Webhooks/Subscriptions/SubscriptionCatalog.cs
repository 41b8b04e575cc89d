using System.Text.Json;
using System.Text.Json.Serialization;
using Hubgate.Storage;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hubgate.Webhooks.Subscriptions;

/// <summary>A subscription as the worker and the API see it: the stored row, its definition read back, its filter and key.</summary>
internal sealed record Subscription(
    string Name,
    SubscriptionKind Kind,
    SubscriptionOptions Options,
    SubscriptionFilter Filter,
    SubscriptionKey? Key,
    SubscriptionSource Source,
    SubscriptionStatus Status,
    string? DisabledReason,
    DateTimeOffset? FailingSince,
    DateTimeOffset CreatedAt)
{
    public bool IsActive => Status == SubscriptionStatus.Active;

    public bool IsOrdered => Options.Ordering != SubscriptionOrdering.None;
}

/// <summary>Why a subscription could not be added or changed; <see cref="Exception.Message"/> names the field.</summary>
internal sealed class SubscriptionException(string message, bool conflict = false) : HubgateException(message)
{
    /// <summary>The name is taken (or, for a change, the subscription cannot be changed that way): 409 rather than 400.</summary>
    public bool Conflict { get; } = conflict;
}

/// <summary>
/// The subscriptions, stored in the database so that every replica sees the same ones: the built-in <c>local</c> (the
/// model and the in-process handlers), those declared under <c>Subscriptions:{name}</c> (written at every start,
/// removed when no longer declared) and those added at run time. Reads are served from a snapshot refreshed every
/// <see cref="RefreshInterval"/> (and at once after a change made here), so a change on one replica reaches the others
/// within that. Secrets are kept encrypted with Data Protection and never given back, except once, when created.
/// </summary>
internal sealed partial class SubscriptionCatalog(
    IDbContextFactory<HubgateDbContext> databases,
    IOptions<SubscriptionsOptions> declared,
    IDataProtectionProvider dataProtection,
    TimeProvider time,
    ILogger<SubscriptionCatalog> logger) : IDisposable
{
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(2);

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter() },
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        // Events, Installations and Repositories are get-only lists: read back into them, not skipped (which would make
        // every stored subscription's filter "everything").
        PreferredObjectCreationHandling = JsonObjectCreationHandling.Populate,
    };

    private readonly IDataProtector _protector = dataProtection.CreateProtector("Hubgate.Subscription.v1");
    private readonly SemaphoreSlim _refresh = new(1, 1);
    private volatile Snapshot? _snapshot;

    private sealed record Snapshot(IReadOnlyList<Subscription> All, DateTimeOffset ReadAt);

    public void Dispose() => _refresh.Dispose();

    /// <summary>Raised after a change made through this catalog (the worker starts or stops a subscription's runner).</summary>
    public event Action? Changed;

    /// <summary>The built-in subscription's definition: every delivery, no order, the Webhooks:* retries.</summary>
    public static SubscriptionOptions LocalOptions => new() { Kind = SubscriptionKind.Local };

    /// <summary>
    /// Writes <c>local</c> and the declared subscriptions (new ones added, changed ones updated — their status kept
    /// unless declared paused — those no longer declared removed with their rows). Called once at start.
    /// </summary>
    public async Task SyncDeclaredAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var db = await databases.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        await using (db.ConfigureAwait(false))
        {
            var stored = await db.Subscriptions.ToDictionaryAsync(s => s.Name, StringComparer.Ordinal, cancellationToken).ConfigureAwait(false);
            if (!stored.ContainsKey(SubscriptionValidation.LocalName))
            {
                db.Subscriptions.Add(LocalRow(now));
            }

            foreach (var (name, options) in declared.Value.Declared)
            {
                var definition = Serialize(options);
                if (stored.TryGetValue(name, out var row))
                {
                    if (row.Source != SubscriptionSource.Configuration)
                    {
                        Log.DeclaredOverApi(logger, name);
                    }

                    row.Kind = options.Kind;
                    row.DefinitionJson = definition;
                    row.SecretProtected = ProtectedSecret(options);
                    row.Source = SubscriptionSource.Configuration;
                    if (options.Paused)
                    {
                        row.Status = SubscriptionStatus.Paused;
                    }
                    else if (row.Status == SubscriptionStatus.Paused && row.DisabledReason is null)
                    {
                        row.Status = SubscriptionStatus.Active;
                    }

                    row.UpdatedAt = now;
                    continue;
                }

                db.Subscriptions.Add(new SubscriptionEntity
                {
                    Name = name, Kind = options.Kind, DefinitionJson = definition,
                    SecretProtected = ProtectedSecret(options),
                    Source = SubscriptionSource.Configuration, Status = options.Paused ? SubscriptionStatus.Paused : SubscriptionStatus.Active,
                    CreatedAt = now, UpdatedAt = now,
                });
            }

            foreach (var gone in stored.Values.Where(s => s.Source == SubscriptionSource.Configuration && !declared.Value.Declared.ContainsKey(s.Name)))
            {
                Log.NoLongerDeclared(logger, gone.Name);
                db.Subscriptions.Remove(gone);
            }

            await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        }

        await RefreshAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Every subscription, from a snapshot at most <see cref="RefreshInterval"/> old.</summary>
    public async ValueTask<IReadOnlyList<Subscription>> AllAsync(CancellationToken cancellationToken)
    {
        var snapshot = _snapshot;
        if (snapshot is not null && time.GetUtcNow() - snapshot.ReadAt < RefreshInterval)
        {
            return snapshot.All;
        }

        return await RefreshAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<Subscription?> FindAsync(string name, CancellationToken cancellationToken) =>
        (await AllAsync(cancellationToken).ConfigureAwait(false)).FirstOrDefault(s => s.Name == name);

    /// <summary>Reads the subscriptions again now.</summary>
    public async Task<IReadOnlyList<Subscription>> RefreshAsync(CancellationToken cancellationToken)
    {
        await _refresh.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var db = await databases.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
            await using (db.ConfigureAwait(false))
            {
                var rows = await db.Subscriptions.AsNoTracking().OrderBy(s => s.Name).ToListAsync(cancellationToken).ConfigureAwait(false);
                var all = rows.Select(Read).ToList();
                if (!all.Any(s => s.Kind == SubscriptionKind.Local))
                {
                    // The built-in subscription exists from the first start; until its row is written, it is active.
                    all.Insert(0, Read(LocalRow(DateTimeOffset.MinValue)));
                }

                _snapshot = new Snapshot(all, time.GetUtcNow());
                return all;
            }
        }
        finally
        {
            _refresh.Release();
        }
    }

    private static SubscriptionEntity LocalRow(DateTimeOffset now) => new()
    {
        Name = SubscriptionValidation.LocalName, Kind = SubscriptionKind.Local, DefinitionJson = "{}",
        Source = SubscriptionSource.BuiltIn, Status = SubscriptionStatus.Active, CreatedAt = now, UpdatedAt = now,
    };

    private Subscription Read(SubscriptionEntity row)
    {
        var options = row.Kind == SubscriptionKind.Local ? LocalOptions : JsonSerializer.Deserialize<SubscriptionOptions>(row.DefinitionJson, Json)!;
        options.Kind = row.Kind;
        SubscriptionKey? key = null;
        if (row.Kind == SubscriptionKind.RabbitMq && options.RabbitMq is { } rabbit)
        {
            // The definition holds the URI with its password masked; the whole URI is kept encrypted.
            rabbit.Uri = null;
            if (row.SecretProtected is { } protectedUri)
            {
                try
                {
                    rabbit.Uri = _protector.Unprotect(protectedUri);
                }
                catch (System.Security.Cryptography.CryptographicException)
                {
                    Log.SecretUnreadable(logger, row.Name);
                }
            }
        }
        else if (row.SecretProtected is { } protectedSecret)
        {
            try
            {
                key = SubscriptionKey.Parse(_protector.Unprotect(protectedSecret), out _);
            }
            catch (System.Security.Cryptography.CryptographicException)
            {
                Log.SecretUnreadable(logger, row.Name);
            }
        }

        return new Subscription(row.Name, row.Kind, options, new SubscriptionFilter(options), key, row.Source, row.Status, row.DisabledReason,
            row.FailingSince, row.CreatedAt);
    }

    /// <summary>
    /// Adds a subscription from the API or CLI. Its secret is generated when not given; what is returned is the
    /// subscription and the key in Standard Webhooks' form (<c>whsec_…</c>), shown this once.
    /// </summary>
    public async Task<(Subscription Subscription, string? SigningKey)> AddAsync(string name, SubscriptionOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (SubscriptionValidation.NameProblem(name) is { } nameProblem)
        {
            throw new SubscriptionException($"name: {nameProblem}.");
        }

        if (name == SubscriptionValidation.LocalName)
        {
            throw new SubscriptionException($"name: '{name}' is the built-in subscription.", conflict: true);
        }

        var problems = SubscriptionValidation.Problems(options, JsonName, secretRequired: false);
        if (problems.Count > 0)
        {
            throw new SubscriptionException(string.Join(" ", problems.Select(p => p.EndsWith('.') ? p : p + ".")));
        }

        string? secret = null;
        if (options.Kind == SubscriptionKind.Http)
        {
            secret = options.Secret ?? SubscriptionKey.Generate().StandardForm;
        }

        var now = time.GetUtcNow();
        var db = await databases.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        await using (db.ConfigureAwait(false))
        {
            if (await db.Subscriptions.AnyAsync(s => s.Name == name, cancellationToken).ConfigureAwait(false))
            {
                throw new SubscriptionException($"name: a subscription named '{name}' exists already.", conflict: true);
            }

            db.Subscriptions.Add(new SubscriptionEntity
            {
                Name = name, Kind = options.Kind, DefinitionJson = Serialize(options),
                SecretProtected = options.Kind == SubscriptionKind.RabbitMq ? ProtectedSecret(options) : secret is null ? null : _protector.Protect(secret),
                Source = SubscriptionSource.Api, Status = options.Paused ? SubscriptionStatus.Paused : SubscriptionStatus.Active,
                CreatedAt = now, UpdatedAt = now,
            });
            try
            {
                await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (DbUpdateException e) when (DatabaseErrors.IsUniqueViolation(e))
            {
                throw new SubscriptionException($"name: a subscription named '{name}' exists already.", conflict: true);
            }
        }

        Log.Added(logger, name, options.Kind);
        await ChangedAsync(cancellationToken).ConfigureAwait(false);
        var added = (await AllAsync(cancellationToken).ConfigureAwait(false)).Single(s => s.Name == name);
        return (added, added.Key?.StandardForm);
    }

    /// <summary>Pauses, resumes (which also enables a disabled one) or disables a subscription. False when there is none.</summary>
    public async Task<bool> SetStatusAsync(string name, SubscriptionStatus status, string? reason, CancellationToken cancellationToken)
    {
        var db = await databases.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        await using (db.ConfigureAwait(false))
        {
            var row = await db.Subscriptions.SingleOrDefaultAsync(s => s.Name == name, cancellationToken).ConfigureAwait(false);
            if (row is null && name == SubscriptionValidation.LocalName)
            {
                row = LocalRow(time.GetUtcNow());
                db.Subscriptions.Add(row);
            }

            if (row is null)
            {
                return false;
            }

            row.Status = status;
            row.DisabledReason = status == SubscriptionStatus.Disabled ? reason : null;
            if (status == SubscriptionStatus.Active)
            {
                row.FailingSince = null;
            }

            row.UpdatedAt = time.GetUtcNow();
            await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        }

        if (status == SubscriptionStatus.Disabled)
        {
            Log.Disabled(logger, name, reason ?? "");
        }

        await ChangedAsync(cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>
    /// Removes a subscription added at run time, with what it was owed. The built-in one and those declared in
    /// configuration cannot be removed here (a <see cref="SubscriptionException"/> says where). False when there is none.
    /// </summary>
    public async Task<bool> RemoveAsync(string name, CancellationToken cancellationToken)
    {
        var db = await databases.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        await using (db.ConfigureAwait(false))
        {
            var row = await db.Subscriptions.SingleOrDefaultAsync(s => s.Name == name, cancellationToken).ConfigureAwait(false);
            if (row is null)
            {
                return false;
            }

            if (row.Source == SubscriptionSource.BuiltIn)
            {
                throw new SubscriptionException($"'{name}' is the built-in subscription and cannot be removed; pause it instead.", conflict: true);
            }

            if (row.Source == SubscriptionSource.Configuration)
            {
                throw new SubscriptionException($"'{name}' is declared in configuration (Subscriptions:{name}); remove it there.", conflict: true);
            }

            await db.SubscriptionDeliveries.Where(d => d.Subscription == name).ExecuteDeleteAsync(cancellationToken).ConfigureAwait(false);
            db.Subscriptions.Remove(row);
            await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        }

        Log.Removed(logger, name);
        await ChangedAsync(cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>
    /// After a batch: a success clears <c>FailingSince</c>; a batch with only failures starts it (when not started), and a
    /// subscription failing for longer than its <c>DisableAfter</c> is disabled with the reason. Returns the reason when
    /// this call disabled it.
    /// </summary>
    public async Task<string?> RecordHealthAsync(Subscription subscription, bool anyDelivered, bool anyFailed, string? lastError,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(subscription);
        var now = time.GetUtcNow();
        if (anyDelivered)
        {
            if (subscription.FailingSince is null)
            {
                return null;
            }

            await UpdateAsync(subscription.Name, row => row.FailingSince = null, cancellationToken).ConfigureAwait(false);
            return null;
        }

        if (!anyFailed)
        {
            return null;
        }

        if (subscription.FailingSince is not { } since)
        {
            await UpdateAsync(subscription.Name, row => row.FailingSince ??= now, cancellationToken).ConfigureAwait(false);
            return null;
        }

        if (now - since < subscription.Options.DisableAfter)
        {
            return null;
        }

        var reason = $"Every attempt has failed since {since:u} (longer than DisableAfter, {subscription.Options.DisableAfter}); last error: {lastError}";
        await SetStatusAsync(subscription.Name, SubscriptionStatus.Disabled, reason, cancellationToken).ConfigureAwait(false);
        return reason;
    }

    private async Task UpdateAsync(string name, Action<SubscriptionEntity> change, CancellationToken cancellationToken)
    {
        var db = await databases.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        await using (db.ConfigureAwait(false))
        {
            if (await db.Subscriptions.SingleOrDefaultAsync(s => s.Name == name, cancellationToken).ConfigureAwait(false) is { } row)
            {
                change(row);
                await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        await RefreshAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task ChangedAsync(CancellationToken cancellationToken)
    {
        await RefreshAsync(cancellationToken).ConfigureAwait(false);
        Changed?.Invoke();
    }

    private static string Serialize(SubscriptionOptions options)
    {
        // The secret is stored apart, encrypted; the definition never carries it, nor a broker URI's password.
        var secret = options.Secret;
        var uri = options.RabbitMq?.Uri;
        options.Secret = null;
        if (options.RabbitMq is { } rabbit)
        {
            rabbit.Uri = RabbitMq.BrokerUri.Masked(uri);
        }

        try
        {
            return JsonSerializer.Serialize(options, Json);
        }
        finally
        {
            options.Secret = secret;
            if (options.RabbitMq is { } restored)
            {
                restored.Uri = uri;
            }
        }
    }

    /// <summary>What is kept encrypted: an HTTP subscription's signing secret, a RabbitMQ subscription's whole broker URI.</summary>
    private string? ProtectedSecret(SubscriptionOptions options) =>
        options.Kind == SubscriptionKind.RabbitMq
            ? options.RabbitMq?.Uri is { } uri ? _protector.Protect(uri) : null
            : options.Secret is null ? null : _protector.Protect(options.Secret);

    /// <summary>A property's name as the API's JSON spells it (<c>Url</c> → <c>url</c>).</summary>
    internal static string JsonName(string property) => JsonNamingPolicy.CamelCase.ConvertName(property);

    private static partial class Log
    {
        [LoggerMessage(EventId = 380, Level = LogLevel.Information, Message = "Subscription {Name} ({Kind}) added")]
        public static partial void Added(ILogger logger, string name, SubscriptionKind kind);

        [LoggerMessage(EventId = 381, Level = LogLevel.Information, Message = "Subscription {Name} removed with what it was owed")]
        public static partial void Removed(ILogger logger, string name);

        [LoggerMessage(EventId = 382, Level = LogLevel.Error, Message = "Subscription {Name} disabled: {Reason}. Resume it (hubgate subscriptions resume {Name}) once the destination is fixed; nothing it was owed is skipped.")]
        public static partial void Disabled(ILogger logger, string name, string reason);

        [LoggerMessage(EventId = 383, Level = LogLevel.Warning, Message = "Subscription {Name} is no longer declared in configuration: removed with what it was owed")]
        public static partial void NoLongerDeclared(ILogger logger, string name);

        [LoggerMessage(EventId = 384, Level = LogLevel.Warning, Message = "Subscription {Name}, added through the API, is now declared in configuration: the configuration's definition replaces it")]
        public static partial void DeclaredOverApi(ILogger logger, string name);

        [LoggerMessage(EventId = 385, Level = LogLevel.Error, Message = "Subscription {Name}: its secret (or broker URI) cannot be decrypted with this key ring (Data Protection keys lost or not shared between replicas); its deliveries fail until it is added again")]
        public static partial void SecretUnreadable(ILogger logger, string name);
    }
}
