using System.Security.Cryptography;
using System.Text;

namespace Hubgate.Webhooks.Subscriptions;

/// <summary>
/// The one HMAC key a subscription signs with, in both of the forms a receiver may configure. A <c>Secret</c> that starts
/// with <c>whsec_</c> is Standard Webhooks' form: the key is the bytes its base64 tail decodes to. Any other secret is
/// used as its UTF-8 bytes, as GitHub does with a webhook secret. Either way the same bytes sign the GitHub-style
/// <c>X-Hub-Signature-256</c> and the Standard Webhooks <c>webhook-signature</c>, so one secret serves an Octokit
/// receiver and a Standard Webhooks one.
/// </summary>
internal sealed class SubscriptionKey
{
    /// <summary>Standard Webhooks' prefix of a secret given as base64 key bytes.</summary>
    public const string StandardPrefix = "whsec_";

    /// <summary>Fewest key bytes accepted: 24 (192 bits), Standard Webhooks' lower bound.</summary>
    public const int MinBytes = 24;

    /// <summary>Most key bytes accepted: 64, Standard Webhooks' upper bound (and one SHA-256 block).</summary>
    public const int MaxBytes = 64;

    private readonly byte[] _bytes;

    private SubscriptionKey(byte[] bytes) => _bytes = bytes;

    /// <summary>The key bytes (do not log; do not keep longer than needed).</summary>
    public ReadOnlySpan<byte> Bytes => _bytes;

    /// <summary>What a Standard Webhooks receiver configures: <c>whsec_</c> + base64 of the key bytes.</summary>
    public string StandardForm => StandardPrefix + Convert.ToBase64String(_bytes);

    /// <summary>
    /// Reads <paramref name="secret"/>; null with <paramref name="error"/> saying what is wrong (never quoting the secret)
    /// when it is empty, not valid base64 after <c>whsec_</c>, or outside <see cref="MinBytes"/>–<see cref="MaxBytes"/>.
    /// </summary>
    public static SubscriptionKey? Parse(string? secret, out string? error)
    {
        error = null;
        if (string.IsNullOrEmpty(secret))
        {
            error = "is empty";
            return null;
        }

        byte[] bytes;
        if (secret.StartsWith(StandardPrefix, StringComparison.Ordinal))
        {
            try
            {
                bytes = Convert.FromBase64String(secret[StandardPrefix.Length..]);
            }
            catch (FormatException)
            {
                error = $"starts with {StandardPrefix} but the rest is not base64";
                return null;
            }
        }
        else
        {
            bytes = Encoding.UTF8.GetBytes(secret);
        }

        if (bytes.Length is < MinBytes or > MaxBytes)
        {
            error = $"is {bytes.Length} bytes; a subscription secret must be {MinBytes} to {MaxBytes} bytes " +
                $"(UTF-8 text, or {StandardPrefix} followed by base64 of the key bytes)";
            return null;
        }

        return new SubscriptionKey(bytes);
    }

    /// <summary>
    /// The key of a receiver's own webhook secret, any length (<c>hubgate listen --secret</c>: a developer's local
    /// receiver, configured with whatever secret it has, as GitHub accepts any); null when empty or not base64 after <c>whsec_</c>.
    /// </summary>
    public static SubscriptionKey? ForReceiver(string? secret)
    {
        if (Parse(secret, out _) is { } key)
        {
            return key;
        }

        if (string.IsNullOrEmpty(secret) || secret.StartsWith(StandardPrefix, StringComparison.Ordinal))
        {
            return null;
        }

        return new SubscriptionKey(Encoding.UTF8.GetBytes(secret));
    }

    /// <summary>A new random key of 32 bytes, for a subscription created without a secret.</summary>
    public static SubscriptionKey Generate() => new(RandomNumberGenerator.GetBytes(32));
}
