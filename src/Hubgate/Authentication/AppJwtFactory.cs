using System.Buffers;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace Hubgate.Authentication;

/// <summary>
/// Signs the App's JWT (RS256): <c>iat</c> = now − 60 s, <c>exp</c> = now + 9 min, <c>iss</c> = client id or App id (<see cref="GitHubAppOptions.JwtIssuer"/>),
/// with "now" taken from <see cref="GitHubClock"/>. One JWT is reused until 60 s before it expires, because the
/// RSA signature is the expensive part.
/// </summary>
public sealed class AppJwtFactory : IDisposable
{
    internal static readonly TimeSpan IssuedAtBackdate = TimeSpan.FromSeconds(60);
    internal static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(9);
    internal static readonly TimeSpan ReuseMargin = TimeSpan.FromSeconds(60);

    // {"alg":"RS256","typ":"JWT"}
    private const string EncodedHeader = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9";

    private readonly GitHubAppOptions _options;
    private readonly GitHubClock _clock;
    private readonly Lock _signLock = new();
    private RSA? _key;
    private volatile CachedJwt? _current;

    internal AppJwtFactory(IOptions<GitHubAppOptions> options, GitHubClock clock)
        : this((options ?? throw new ArgumentNullException(nameof(options))).Value, clock)
    {
    }

    /// <summary>Signs as the App <paramref name="options"/> describe (one per <see cref="Apps.GitHubApp"/>).</summary>
    internal AppJwtFactory(GitHubAppOptions options, GitHubClock clock)
    {
        _options = options;
        _clock = clock;
    }

    /// <summary>A JWT valid for at least 60 more seconds by GitHub's clock.</summary>
    /// <exception cref="GitHubAppNotConfiguredException">No App id or key is configured.</exception>
    public string GetJwt()
    {
        var current = _current;
        var now = _clock.UtcNow;
        if (current is not null && current.Offset == _clock.Offset && now < current.ExpiresAt - ReuseMargin)
        {
            return current.Value;
        }

        lock (_signLock)
        {
            current = _current;
            now = _clock.UtcNow;
            if (current is not null && current.Offset == _clock.Offset && now < current.ExpiresAt - ReuseMargin)
            {
                return current.Value;
            }

            var signed = Sign(now);
            _current = signed;
            return signed.Value;
        }
    }

    /// <summary>Forgets the cached JWT, so the next call signs a new one (after a clock-offset change).</summary>
    public void Invalidate() => _current = null;

    /// <summary>Clears the private key from memory.</summary>
    public void Dispose()
    {
        lock (_signLock)
        {
            _key?.Dispose();
            _key = null;
        }
    }

    private CachedJwt Sign(DateTimeOffset now)
    {
        var key = _key ??= LoadKey();
        var issuedAt = now - IssuedAtBackdate;
        var expiresAt = now + Lifetime;

        var payload = new ArrayBufferWriter<byte>(128);
        using (var json = new Utf8JsonWriter(payload))
        {
            json.WriteStartObject();
            json.WriteNumber("iat", issuedAt.ToUnixTimeSeconds());
            json.WriteNumber("exp", expiresAt.ToUnixTimeSeconds());
            if (_options.IssuerIsAppId && _options.AppId is { } appId)
            {
                json.WriteNumber("iss", appId);
            }
            else
            {
                json.WriteString("iss", _options.Issuer);
            }

            json.WriteEndObject();
        }

        var signingInput = EncodedHeader + "." + Base64Url.EncodeToString(payload.WrittenSpan);
        var signature = key.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return new CachedJwt(signingInput + "." + Base64Url.EncodeToString(signature), DateTimeOffset.FromUnixTimeSeconds(expiresAt.ToUnixTimeSeconds()), _clock.Offset);
    }

    private RSA LoadKey()
    {
        _options.EnsureAppCredentials();
        return AppPrivateKey.Load(_options);
    }

    private sealed record CachedJwt(string Value, DateTimeOffset ExpiresAt, TimeSpan Offset);
}
