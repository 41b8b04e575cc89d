using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using System.Xml.Linq;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Hubgate.Storage;

/// <summary>
/// Configuration section <c>DataProtection</c>: how the Data Protection key ring (which encrypts stored installation
/// tokens and signs dashboard sessions) is protected at rest in the database. Without a certificate the keys are
/// stored as plain XML next to what they protect; with one, each key is encrypted to the certificate (XML encryption,
/// Data Protection's <c>ProtectKeysWithCertificate</c>), and a copied database yields neither tokens nor sessions.
/// </summary>
public sealed class KeyRingOptions
{
    /// <summary>The configuration section these options bind from.</summary>
    public const string SectionName = "DataProtection";

    /// <summary><c>DataProtection:CertificatePath</c>: a PKCS#12 (.pfx) file with the certificate and its private key.</summary>
    public string? CertificatePath { get; set; }

    /// <summary><c>DataProtection:CertificatePassword</c>: the .pfx file's password, if it has one.</summary>
    public string? CertificatePassword { get; set; }

    /// <summary>Whether the key ring is encrypted at rest.</summary>
    public bool IsProtected => !string.IsNullOrWhiteSpace(CertificatePath);

    internal static KeyRingOptions Read(IConfiguration configuration)
    {
        var options = new KeyRingOptions();
        configuration.GetSection(SectionName).Bind(options);
        return options;
    }

    /// <summary>Protects the key ring with the configured certificate, or fails naming the setting.</summary>
    internal void Apply(IDataProtectionBuilder dataProtection)
    {
        if (!IsProtected)
        {
            return;
        }

        X509Certificate2 certificate;
        try
        {
            certificate = X509CertificateLoader.LoadPkcs12FromFile(CertificatePath!, CertificatePassword);
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
        {
            throw Invalid($"DataProtection:CertificatePath: cannot read '{CertificatePath}' as a PKCS#12 (.pfx) file with DataProtection:CertificatePassword: {e.Message}");
        }

        if (!certificate.HasPrivateKey)
        {
            throw Invalid($"DataProtection:CertificatePath: '{CertificatePath}' holds no private key; the key ring could be encrypted but never read back.");
        }

        // Also registers the certificate for decryption (no certificate store involved).
        dataProtection.ProtectKeysWithCertificate(certificate);
    }

    /// <summary>
    /// Null when every key of the ring can be read; otherwise why not (a key ring encrypted to another certificate, or
    /// encrypted while no certificate is configured). Reading keys decrypts them: this runs once at start-up.
    /// </summary>
    internal static string? CheckKeyRing(IKeyManager keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        foreach (var key in keys.GetAllKeys().Where(k => !k.IsRevoked))
        {
            try
            {
                _ = key.Descriptor;
            }
            catch (Exception e) when (e is CryptographicException or InvalidOperationException or System.Xml.XmlException)
            {
                return $"The Data Protection key {key.KeyId} in the database cannot be decrypted ({e.GetBaseException().Message}). " +
                       "The key ring was encrypted with another certificate than DataProtection:CertificatePath, or DataProtection:CertificatePath is not set; " +
                       "configure the certificate the key ring was encrypted with.";
            }
        }

        return null;
    }

    /// <summary>
    /// With a certificate set, the keys stored unencrypted before it was (their master key is plain text in the
    /// database) are replaced: a new key, encrypted to the certificate, becomes the default at once and the old ones are
    /// revoked and deleted from the database. What they protected is lost by design: stored
    /// tokens are minted again, dashboard sessions sign in again. The number of keys replaced.
    /// </summary>
    internal async Task<int> ReplaceUnencryptedKeysAsync(IKeyManager keys, IDbContextFactory<HubgateDbContext> databases, TimeProvider time,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentNullException.ThrowIfNull(databases);
        ArgumentNullException.ThrowIfNull(time);
        if (!IsProtected)
        {
            return 0;
        }

        var db = await databases.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        await using (db.ConfigureAwait(false))
        {
            var unencrypted = await db.DataProtectionKeys.Where(k => k.Xml != null && k.Xml.Contains("<masterKey"))
                .ToListAsync(cancellationToken).ConfigureAwait(false);
            if (unencrypted.Count == 0)
            {
                return 0;
            }

            var ids = unencrypted.Select(k => Guid.TryParse(XElement.Parse(k.Xml!).Attribute("id")?.Value, out var id) ? id : Guid.Empty).ToHashSet();
            var replaced = keys.GetAllKeys().Where(k => ids.Contains(k.KeyId)).Select(k => k.KeyId).ToList();

            var now = time.GetUtcNow();
            keys.CreateNewKey(now, now.AddDays(90));
            foreach (var id in replaced)
            {
                keys.RevokeKey(id, "stored unencrypted before DataProtection:CertificatePath was set");
            }

            // Revoked, the keys would still sit in the database in plain text: gone, a copy of the database holds none.
            // On SQLite the freed pages are overwritten with zeros rather than left holding the keys' bytes.
            await db.Database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            if (!db.IsPostgres)
            {
                await db.Database.ExecuteSqlRawAsync("PRAGMA secure_delete = ON;", cancellationToken).ConfigureAwait(false);
            }

            db.DataProtectionKeys.RemoveRange(unencrypted);
            await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
            if (!db.IsPostgres)
            {
                await db.Database.ExecuteSqlRawAsync("PRAGMA secure_delete = OFF;", cancellationToken).ConfigureAwait(false);
            }
            return unencrypted.Count;
        }
    }

    private static OptionsValidationException Invalid(string message) =>
        new(SectionName + ":CertificatePath", typeof(KeyRingOptions), [message]);
}
