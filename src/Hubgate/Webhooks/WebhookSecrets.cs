using System.Text;
using Microsoft.Extensions.Options;

namespace Hubgate.Webhooks;

/// <summary>
/// The configured webhook secrets as UTF-8 bytes, encoded once and again whenever configuration changes
/// (<c>IOptionsMonitor</c>): rotating <c>GitHub:WebhookSecret</c> / <c>GitHub:AdditionalWebhookSecrets</c> needs no restart.
/// </summary>
public sealed class WebhookSecrets : IDisposable
{
    private readonly IDisposable? _subscription;
    private volatile byte[][] _current;

    public WebhookSecrets(IOptionsMonitor<WebhookSecretOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _current = Encode(options.CurrentValue);
        _subscription = options.OnChange(changed => _current = Encode(changed));
    }

    /// <summary>Every non-empty secret, primary first. Empty when none is configured.</summary>
    public IReadOnlyList<byte[]> Current => _current;

    public bool IsConfigured => _current.Length > 0;

    public void Dispose() => _subscription?.Dispose();

    private static byte[][] Encode(WebhookSecretOptions options) => [.. options.All().Select(Encoding.UTF8.GetBytes)];
}
