using System.Collections.Frozen;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Hubgate.Server.Api;
using Microsoft.Extensions.Options;

namespace Hubgate.Server.Access;

/// <summary>
/// Every client, found by key or name: those in configuration (<c>Hubgate:Clients</c>, and <c>Hubgate:ApiKey</c> as the
/// client <c>admin</c>), held in memory as SHA-256 digests and compared in constant time against every one, and those
/// managed at run time (<see cref="ClientStore"/>), looked up in the database by digest on each request so that a key
/// rotated or removed on any replica stops working at the next request. Configuration wins a name clash.
/// </summary>
internal sealed class ClientDirectory(IOptionsMonitor<ApiKeyOptions> options, ClientStore store)
{
    /// <summary>The client <c>Hubgate:ApiKey</c> stands for.</summary>
    public const string AdminClient = "admin";

    // One reference, swapped whole when the options change (a reload), so readers never see half of a change.
    private Compiled? _compiled;

    /// <summary>False when no key at all is configured or stored (the API and the proxy then answer 503).</summary>
    public async ValueTask<bool> IsConfiguredAsync(CancellationToken cancellationToken) =>
        Clients().Length > 0 || await store.AnyAsync(cancellationToken).ConfigureAwait(false);

    /// <summary>The client whose key is <paramref name="presentedKey"/>, or null.</summary>
    public async ValueTask<AccessClient?> AuthenticateAsync(string presentedKey, CancellationToken cancellationToken)
    {
        var presented = SHA256.HashData(Encoding.UTF8.GetBytes(presentedKey));
        AccessClient? found = null;
        foreach (var client in Clients())
        {
            // No early exit: every client's digest is compared.
            if (CryptographicOperations.FixedTimeEquals(presented, client.KeyHash))
            {
                found = client;
            }
        }

        // A stored client is found by an index on its digest: what the timing could tell is about the digest of a
        // 256-bit random key, not the key.
        return found ?? await store.FindByKeyHashAsync(presented, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The client named <paramref name="name"/> as it is now (configuration first), or null.</summary>
    public async ValueTask<AccessClient?> FindAsync(string name, CancellationToken cancellationToken)
    {
        foreach (var client in Clients())
        {
            if (client.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                return client;
            }
        }

        return await store.FindByNameAsync(name, cancellationToken).ConfigureAwait(false);
    }

    private AccessClient[] Clients()
    {
        var current = options.CurrentValue;
        var compiled = Volatile.Read(ref _compiled);
        if (compiled is null || !ReferenceEquals(compiled.Options, current))
        {
            compiled = new Compiled(current, Compile(current));
            Volatile.Write(ref _compiled, compiled);
        }

        return compiled.Clients;
    }

    private sealed record Compiled(ApiKeyOptions Options, AccessClient[] Clients);

    private static AccessClient[] Compile(ApiKeyOptions options)
    {
        var clients = new List<AccessClient>();
        if (!string.IsNullOrEmpty(options.ApiKey))
        {
            clients.Add(new AccessClient(AdminClient, SHA256.HashData(Encoding.UTF8.GetBytes(options.ApiKey)), ClientPolicy.Everything));
        }

        foreach (var (name, settings) in options.Clients)
        {
            var hash = !string.IsNullOrEmpty(settings.Key) ? SHA256.HashData(Encoding.UTF8.GetBytes(settings.Key))
                : !string.IsNullOrEmpty(settings.KeySha256) ? Convert.FromHexString(settings.KeySha256)
                : null;
            if (hash is not null)
            {
                clients.Add(new AccessClient(name, hash, Policy(settings)));
            }
        }

        return [.. clients];
    }

    /// <summary>A policy compiled from its settings (configured or stored).</summary>
    public static ClientPolicy Policy(ClientOptions settings)
    {
        var allInstallations = settings.Installations.Count == 0 || settings.Installations.Contains("*");
        var allRepositories = settings.Repositories.Count == 0 || settings.Repositories.Contains("*");
        return new ClientPolicy(
            allInstallations ? null : Ids(settings.Installations),
            allInstallations ? null : Names(settings.Installations),
            allRepositories ? null : Ids(settings.Repositories),
            allRepositories ? null : Names(settings.Repositories),
            settings.Access, settings.Tokens, settings.Admin)
        {
            AppName = settings.AppName,
            Streams = settings.Streams.Select(s => s.Trim()).ToFrozenSet(StringComparer.Ordinal),
            Permissions = settings.Permissions.Count == 0 ? null
                : settings.Permissions.ToFrozenDictionary(p => p.Key.Trim().ToLowerInvariant(), p => p.Value.Trim().ToLowerInvariant(), StringComparer.OrdinalIgnoreCase),
        };
    }

    private static FrozenSet<long> Ids(IEnumerable<string> entries) =>
        entries.Select(e => long.TryParse(e.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var id) ? id : (long?)null)
            .OfType<long>().ToFrozenSet();

    private static FrozenSet<string> Names(IEnumerable<string> entries) =>
        entries.Select(e => e.Trim()).Where(e => !long.TryParse(e, NumberStyles.None, CultureInfo.InvariantCulture, out _))
            .ToFrozenSet(StringComparer.OrdinalIgnoreCase);
}
