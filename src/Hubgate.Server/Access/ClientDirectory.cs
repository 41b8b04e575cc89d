using System.Collections.Frozen;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Hubgate.Server.Api;
using Microsoft.Extensions.Options;

namespace Hubgate.Server.Access;

/// <summary>
/// The configured clients (<c>Hubgate:Clients</c>, and <c>Hubgate:ApiKey</c> as the client <c>admin</c>), found by key.
/// Keys are held only as SHA-256 digests and compared in constant time against every client, so neither a key's
/// content, its length nor which client it belongs to shows in the timing.
/// </summary>
internal sealed class ClientDirectory(IOptionsMonitor<ApiKeyOptions> options)
{
    /// <summary>The client <c>Hubgate:ApiKey</c> stands for.</summary>
    public const string AdminClient = "admin";

    // One reference, swapped whole when the options change (a reload), so readers never see half of a change.
    private Compiled? _compiled;

    /// <summary>False when no key at all is configured (the API and the proxy then answer 503).</summary>
    public bool IsConfigured => Clients().Length > 0;

    /// <summary>The client whose key is <paramref name="presentedKey"/>, or null.</summary>
    public AccessClient? Authenticate(string presentedKey)
    {
        Span<byte> presented = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(presentedKey), presented);
        AccessClient? found = null;
        foreach (var client in Clients())
        {
            // No early exit: every client's digest is compared.
            if (CryptographicOperations.FixedTimeEquals(presented, client.KeyHash))
            {
                found = client;
            }
        }

        return found;
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

    private static ClientPolicy Policy(ClientOptions settings)
    {
        var allInstallations = settings.Installations.Count == 0 || settings.Installations.Contains("*");
        var allRepositories = settings.Repositories.Count == 0 || settings.Repositories.Contains("*");
        return new ClientPolicy(
            allInstallations ? null : Ids(settings.Installations),
            allInstallations ? null : Names(settings.Installations),
            allRepositories ? null : Ids(settings.Repositories),
            allRepositories ? null : Names(settings.Repositories),
            settings.App, settings.Tokens, settings.Admin)
        {
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
