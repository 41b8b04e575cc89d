using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Hubgate.Server.Api;
using Hubgate.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Hubgate.Server.Access;

/// <summary>
/// Clients managed at run time (<c>hubgate clients</c>, <c>/api/clients</c>), kept in the database with the SHA-256 of
/// their key only. A new or rotated key is returned once, to the caller that asked for it. Names are unique across
/// configuration and the database: a name configured under <c>Hubgate:Clients</c> (or <c>admin</c>) cannot be added,
/// and should configuration later declare a name the database also holds, configuration wins.
/// </summary>
internal sealed partial class ClientStore(
    IDbContextFactory<HubgateDbContext> databases,
    IOptionsMonitor<ApiKeyOptions> options,
    TimeProvider time,
    ILogger<ClientStore> logger)
{
    /// <summary>The prefix of generated keys (recognisable in a leak scan, like GitHub's <c>ghs_</c>).</summary>
    public const string KeyPrefix = "hg_";

    /// <summary>A new key: <c>hg_</c> and 32 bytes from the CSPRNG, base64url (256 bits).</summary>
    public static string NewKey()
    {
        Span<byte> random = stackalloc byte[32];
        RandomNumberGenerator.Fill(random);
        return KeyPrefix + Base64Url.EncodeToString(random);
    }

    /// <summary>Lower-case hex of the SHA-256 of the key's UTF-8 bytes (what is stored).</summary>
    public static string KeyHash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    /// <summary>Every client, configured and stored, by name.</summary>
    public async Task<IReadOnlyList<ClientSummary>> ListAsync(CancellationToken cancellationToken)
    {
        var configured = options.CurrentValue;
        var list = new List<ClientSummary>();
        if (!string.IsNullOrEmpty(configured.ApiKey))
        {
            list.Add(new ClientSummary(ClientDirectory.AdminClient, ClientSource.Configuration, [], [], new Dictionary<string, string>(), [], "*", AppRight.Admin, true, true,
                null));
        }

        list.AddRange(configured.Clients.Select(c => Summary(c.Key.ToLowerInvariant(), ClientSource.Configuration, c.Value, null)));
        await using var db = await databases.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        foreach (var row in await db.Clients.AsNoTracking().OrderBy(c => c.Name).ToListAsync(cancellationToken).ConfigureAwait(false))
        {
            if (!IsConfigured(row.Name))
            {
                list.Add(Summary(row.Name, ClientSource.Database, Settings(row), row.KeyIssuedAt));
            }
        }

        return [.. list.OrderBy(c => c.Name, StringComparer.Ordinal)];
    }

    /// <summary>Adds a client with a new key; the key is in the result and nowhere else.</summary>
    public async Task<ClientChange> AddAsync(string name, ClientOptions policy, string actor, CancellationToken cancellationToken)
    {
        var problems = ClientOptionsValidator.CheckName(name).Concat(ClientOptionsValidator.CheckPolicy($"client {name}", policy)).ToList();
        if (problems.Count > 0)
        {
            return ClientChange.Fail(ClientChangeError.Invalid, string.Join(" ", problems));
        }

        if (IsConfigured(name))
        {
            return ClientChange.Fail(ClientChangeError.Conflict,
                $"A client named '{name}' is declared in configuration (Hubgate:ApiKey is the client admin); configured clients are changed in configuration.");
        }

        var key = NewKey();
        var now = time.GetUtcNow();
        var row = new ClientEntity
        {
            Name = name,
            KeySha256 = KeyHash(key),
            Installations = JsonSerializer.Serialize(policy.Installations),
            Repositories = JsonSerializer.Serialize(policy.Repositories),
            Permissions = JsonSerializer.Serialize(policy.Permissions),
            Streams = JsonSerializer.Serialize(policy.Streams.Select(s => s.Trim()).ToList()),
            App = policy.AppName,
            AppAccess = policy.Access.ToString().ToLowerInvariant(),
            Tokens = policy.Tokens,
            Admin = policy.Admin,
            CreatedAt = now,
            KeyIssuedAt = now,
        };
        await using var db = await databases.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        if (await db.Clients.AnyAsync(c => c.Name == name, cancellationToken).ConfigureAwait(false))
        {
            return ClientChange.Fail(ClientChangeError.Conflict, $"A client named '{name}' exists; rotate its key or remove it first.");
        }

        db.Clients.Add(row);
        try
        {
            await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (DbUpdateException)
        {
            // Another replica added the same name between the check and the insert.
            return ClientChange.Fail(ClientChangeError.Conflict, $"A client named '{name}' exists; rotate its key or remove it first.");
        }

        Log.Added(logger, name, actor, policy.Installations, policy.Repositories, policy.Streams, policy.AppName, policy.Access, policy.Tokens, policy.Admin);
        return new ClientChange(Summary(name, ClientSource.Database, policy, now), key, null, null);
    }

    /// <summary>Gives a stored client a new key; the old key and every session signed in with it stop working at once.</summary>
    public async Task<ClientChange> RotateAsync(string name, string actor, CancellationToken cancellationToken)
    {
        name = name.ToLowerInvariant();
        if (IsConfigured(name))
        {
            return ConfiguredRefusal(name);
        }

        var key = NewKey();
        var now = time.GetUtcNow();
        var hash = KeyHash(key);
        await using var db = await databases.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var changed = await db.Clients.Where(c => c.Name == name)
            .ExecuteUpdateAsync(s => s.SetProperty(c => c.KeySha256, hash).SetProperty(c => c.KeyIssuedAt, now), cancellationToken).ConfigureAwait(false);
        if (changed == 0)
        {
            return NotFound(name);
        }

        var row = await db.Clients.AsNoTracking().FirstOrDefaultAsync(c => c.Name == name, cancellationToken).ConfigureAwait(false);
        if (row is null)
        {
            return NotFound(name); // removed in the meantime
        }

        Log.Rotated(logger, name, actor);
        return new ClientChange(Summary(name, ClientSource.Database, Settings(row), now), key, null, null);
    }

    /// <summary>Removes a stored client; its key and sessions stop working at once.</summary>
    public async Task<ClientChange> RemoveAsync(string name, string actor, CancellationToken cancellationToken)
    {
        name = name.ToLowerInvariant();
        if (IsConfigured(name))
        {
            return ConfiguredRefusal(name);
        }

        await using var db = await databases.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        if (await db.Clients.Where(c => c.Name == name).ExecuteDeleteAsync(cancellationToken).ConfigureAwait(false) == 0)
        {
            return NotFound(name);
        }

        Log.Removed(logger, name, actor);
        return new ClientChange(null, null, null, null);
    }

    /// <summary>The stored client with this key digest, unless configuration declares its name.</summary>
    public async ValueTask<AccessClient?> FindByKeyHashAsync(byte[] digest, CancellationToken cancellationToken)
    {
        var hex = Convert.ToHexStringLower(digest);
        await using var db = await databases.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var row = await db.Clients.AsNoTracking().FirstOrDefaultAsync(c => c.KeySha256 == hex, cancellationToken).ConfigureAwait(false);
        return row is null || IsConfigured(row.Name) ? null : ToClient(row);
    }

    /// <summary>The stored client named <paramref name="name"/>, unless configuration declares the name.</summary>
    public async ValueTask<AccessClient?> FindByNameAsync(string name, CancellationToken cancellationToken)
    {
        if (IsConfigured(name))
        {
            return null;
        }

        await using var db = await databases.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var row = await db.Clients.AsNoTracking().FirstOrDefaultAsync(c => c.Name == name, cancellationToken).ConfigureAwait(false);
        return row is null ? null : ToClient(row);
    }

    /// <summary>Whether any client is stored.</summary>
    public async ValueTask<bool> AnyAsync(CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        return await db.Clients.AnyAsync(cancellationToken).ConfigureAwait(false);
    }

    private bool IsConfigured(string name)
    {
        var configured = options.CurrentValue;
        return name.Equals(ClientDirectory.AdminClient, StringComparison.OrdinalIgnoreCase) || configured.Clients.ContainsKey(name);
    }

    private static AccessClient ToClient(ClientEntity row) =>
        new(row.Name, Convert.FromHexString(row.KeySha256), ClientDirectory.Policy(Settings(row)));

    private static ClientOptions Settings(ClientEntity row) => new()
    {
        Installations = JsonSerializer.Deserialize<List<string>>(row.Installations) ?? [],
        Repositories = JsonSerializer.Deserialize<List<string>>(row.Repositories) ?? [],
        Permissions = new Dictionary<string, string>(JsonSerializer.Deserialize<Dictionary<string, string>>(row.Permissions) ?? [], StringComparer.OrdinalIgnoreCase),
        Streams = JsonSerializer.Deserialize<List<string>>(row.Streams) ?? [],
        App = row.App,
        AppAccess = Enum.Parse<AppRight>(row.AppAccess, ignoreCase: true),
        Tokens = row.Tokens,
        Admin = row.Admin,
    };

    private static ClientSummary Summary(string name, ClientSource source, ClientOptions settings, DateTimeOffset? keyIssuedAt) =>
        new(name, source, settings.Installations, settings.Repositories, settings.Permissions, settings.Streams, settings.AppName, settings.Access, settings.Tokens,
            settings.Admin, keyIssuedAt);

    private static ClientChange ConfiguredRefusal(string name) => ClientChange.Fail(ClientChangeError.Conflict,
        $"Client '{name}' is declared in configuration (Hubgate:Clients:{name} or Hubgate:ApiKey); change its key there.");

    private static ClientChange NotFound(string name) => ClientChange.Fail(ClientChangeError.NotFound, $"No client named '{name}' is stored.");

    private static partial class Log
    {
        [LoggerMessage(EventId = 430, Level = LogLevel.Information,
            Message = "Client {Client} added by {Actor}: installations {Installations}, repositories {Repositories}, streams {Streams}, app {App} ({AppAccess}), tokens {Tokens}, admin {Admin}")]
        public static partial void Added(ILogger logger, string client, string actor, IEnumerable<string> installations, IEnumerable<string> repositories,
            IEnumerable<string> streams, string app, AppRight appAccess, bool tokens, bool admin);

        [LoggerMessage(EventId = 431, Level = LogLevel.Information, Message = "Client {Client} was given a new key by {Actor}; the old key and its sessions no longer work")]
        public static partial void Rotated(ILogger logger, string client, string actor);

        [LoggerMessage(EventId = 432, Level = LogLevel.Information, Message = "Client {Client} removed by {Actor}")]
        public static partial void Removed(ILogger logger, string client, string actor);
    }
}

/// <summary>Where a client is declared.</summary>
public enum ClientSource
{
    Configuration,
    Database,
}

/// <summary>A client as listed (never its key or its digest).</summary>
internal sealed record ClientSummary(
    string Name,
    ClientSource Source,
    IReadOnlyList<string> Installations,
    IReadOnlyList<string> Repositories,
    IReadOnlyDictionary<string, string> Permissions,
    IReadOnlyList<string> Streams,
    string App,
    AppRight AppAccess,
    bool Tokens,
    bool Admin,
    DateTimeOffset? KeyIssuedAt);

internal enum ClientChangeError
{
    Invalid,
    Conflict,
    NotFound,
}

/// <summary>The outcome of a change: the client and its new key (add, rotate), or why it was refused.</summary>
internal sealed record ClientChange(ClientSummary? Client, string? Key, ClientChangeError? Error, string? Message)
{
    public static ClientChange Fail(ClientChangeError error, string message) => new(null, null, error, message);
}
