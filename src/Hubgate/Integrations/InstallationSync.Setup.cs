using System.Globalization;
using System.Net;
using System.Text.Json;
using Hubgate.Apps;
using Hubgate.Authentication;

namespace Hubgate.Integrations;

/// <summary>One installation refreshed from GitHub (the setup callback): its account and how many repositories it has.</summary>
internal sealed record InstallationRefresh(long InstallationId, string? Account, int Repositories, string? Error);

internal sealed partial class InstallationSync
{
    /// <summary>
    /// Registers or refreshes one installation of <paramref name="app"/> at once, as sync would: GitHub describes it
    /// (<c>GET /app/installations/{id}</c>, App JWT) and lists its repositories (installation token). Null when GitHub
    /// answers 404 — not an installation of this App; nothing is stored then.
    /// </summary>
    /// <exception cref="GitHubApiException">GitHub answered anything else than 200 or 404.</exception>
    public async Task<InstallationRefresh?> RefreshInstallationAsync(GitHubApp app, long installationId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(app);
        var path = string.Create(CultureInfo.InvariantCulture, $"app/installations/{installationId}");
        using var client = clients.CreateHttpClient(app.Name, installationId: null);
        using var response = await client.GetAsync(new Uri(path, UriKind.Relative), cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        if (!response.IsSuccessStatusCode)
        {
            throw new GitHubApiException($"GitHub answered {(int)response.StatusCode} to GET /{path}.", response.StatusCode);
        }

        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using var streamDisposal = stream.ConfigureAwait(false);
        using var document = await JsonDocument.ParseAsync(stream, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (document.RootElement.Int64("id") != installationId)
        {
            throw new GitHubApiException($"GitHub's answer to GET /{path} describes another installation.", response.StatusCode);
        }

        var (account, repositories, error) = await SyncInstallationAsync(app.Name, installationId, document.RootElement, new Counts(), cancellationToken).ConfigureAwait(false);
        return new InstallationRefresh(installationId, account, repositories, error);
    }
}
