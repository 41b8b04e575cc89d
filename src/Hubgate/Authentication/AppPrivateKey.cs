using System.Security.Cryptography;

namespace Hubgate.Authentication;

/// <summary>Loads the App's RSA private key from <c>GitHub:PrivateKeyPath</c> or <c>GitHub:PrivateKey</c>.</summary>
internal static class AppPrivateKey
{
    /// <summary>Reads and imports the key. Messages name the configuration key, never the key material.</summary>
    /// <exception cref="AppPrivateKeyException">The key is missing, unreadable or not an RSA private key.</exception>
    public static RSA Load(GitHubAppOptions options)
    {
        string pem;
        string source;
        if (!string.IsNullOrWhiteSpace(options.PrivateKey))
        {
            source = options.ConfigurationPrefix + ":PrivateKey";
            // Environment variables and single-line secrets often carry the PEM with literal "\n".
            pem = options.PrivateKey.Replace("\\n", "\n", StringComparison.Ordinal);
        }
        else if (!string.IsNullOrWhiteSpace(options.PrivateKeyPath))
        {
            source = options.ConfigurationPrefix + ":PrivateKeyPath";
            try
            {
                pem = File.ReadAllText(options.PrivateKeyPath);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
            {
                throw new AppPrivateKeyException(
                    $"{options.ConfigurationPrefix}:PrivateKeyPath: cannot read the private key file '{options.PrivateKeyPath}': {ex.Message}", ex);
            }
        }
        else
        {
            throw new AppPrivateKeyException($"No App private key: set {options.ConfigurationPrefix}:PrivateKeyPath (a .pem file) or {options.ConfigurationPrefix}:PrivateKey (the PEM text).");
        }

        if (!pem.Contains("PRIVATE KEY-----", StringComparison.Ordinal))
        {
            throw new AppPrivateKeyException($"{source}: no PEM private key found (expected a PEM block of type RSA PRIVATE KEY, as GitHub issues it, or PRIVATE KEY for PKCS#8).");
        }

        var rsa = RSA.Create();
        try
        {
            // ImportFromPem reads both PKCS#1 (what GitHub hands out) and PKCS#8 blocks.
            rsa.ImportFromPem(pem);
            if (rsa.KeySize < 2048)
            {
                throw new AppPrivateKeyException($"{source}: the RSA key has {rsa.KeySize} bits; GitHub Apps use 2048 bits or more.");
            }

            return rsa;
        }
        catch (Exception ex) when (ex is ArgumentException or CryptographicException)
        {
            rsa.Dispose();
            throw new AppPrivateKeyException(
                $"{source}: not an RSA private key in PEM form (PKCS#1 or PKCS#8). Download a new key from the App's settings page if the file is damaged.", ex);
        }
        catch
        {
            rsa.Dispose();
            throw;
        }
    }
}

/// <summary>
/// The App private key could not be loaded (no such file, not a PEM RSA key, too short); the message names the
/// configuration key (<c>GitHub:PrivateKeyPath</c> / <c>GitHub:PrivateKey</c>, or the named App's).
/// </summary>
public sealed class AppPrivateKeyException(string message, Exception? inner = null) : HubgateConfigurationException(message, inner);
