using Hubgate.Authentication;
using Hubgate.Storage;
using Hubgate.Telemetry;
using Microsoft.EntityFrameworkCore;

namespace Hubgate.Server.Access;

/// <summary>
/// The audit of token vending: every installation token handed to a caller (API or <c>hubgate token</c>), with the
/// client, installation, scope and expiry — never the token — counted by client.
/// </summary>
internal sealed partial class TokenVendLog(IDbContextFactory<HubgateDbContext> databases, TimeProvider time, ILogger<TokenVendLog> logger)
{
    private static readonly System.Diagnostics.Metrics.Counter<long> Vends = HubgateTelemetry.Meter.CreateCounter<long>(
        "hubgate.token.vends", "{token}", "Installation tokens handed to callers (POST /api/installations/{id}/access-tokens, hubgate token), by client.");

    /// <summary>Records a vend; the token itself is not passed in, so it cannot be stored.</summary>
    public async Task RecordAsync(string client, string app, long installationId, InstallationTokenScope scope, DateTimeOffset? expiresAt, CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        db.TokenVends.Add(new TokenVendEntity
        {
            Client = client,
            App = app,
            InstallationId = installationId,
            Scope = scope.Key,
            ExpiresAt = expiresAt,
            VendedAt = time.GetUtcNow(),
        });
        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        Vends.Add(1, new KeyValuePair<string, object?>("client", client), new KeyValuePair<string, object?>("app", app));
        Log.Vended(logger, client, app, installationId, scope.Key, expiresAt);
    }

    /// <summary>The newest vends first.</summary>
    public async Task<List<TokenVend>> ListAsync(string? app, int limit, CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var vends = db.TokenVends.AsNoTracking();
        if (app is not null)
        {
            vends = vends.Where(v => v.App == app);
        }

        var rows = await vends.OrderByDescending(v => v.Id).Take(limit).ToListAsync(cancellationToken).ConfigureAwait(false);
        return rows.ConvertAll(v => new TokenVend(v.Id, v.Client, v.App, v.InstallationId, v.Scope, v.ExpiresAt, v.VendedAt));
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 430, Level = LogLevel.Information, Message = "Vended a token of App {App} installation {InstallationId} to client {Client} ({Scope}), expiring {ExpiresAt}")]
        public static partial void Vended(ILogger logger, string client, string app, long installationId, string scope, DateTimeOffset? expiresAt);
    }
}

/// <summary>One vend as the audit lists it (<c>scope</c>: the canonical scope, empty for the installation's own).</summary>
internal sealed record TokenVend(long Id, string Client, string App, long InstallationId, string Scope, DateTimeOffset? ExpiresAt, DateTimeOffset VendedAt);
