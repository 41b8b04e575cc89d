namespace Hubgate.Storage;

/// <summary>
/// A client managed at run time (<c>hubgate clients</c>, <c>/api/clients</c>): its name, the SHA-256 of its key (never
/// the key) and its policy, in the same shape as <c>Hubgate:Clients:{name}</c> in configuration.
/// </summary>
internal class ClientEntity
{
    /// <summary>Lower-case name, unique across configuration and the database.</summary>
    public required string Name { get; set; }

    /// <summary>Lower-case hex of the SHA-256 of the key's UTF-8 bytes.</summary>
    public required string KeySha256 { get; set; }

    /// <summary>JSON array of installation ids or account logins; empty = all.</summary>
    public string Installations { get; set; } = "[]";

    /// <summary>JSON array of <c>owner/name</c> or repository ids; empty = all.</summary>
    public string Repositories { get; set; } = "[]";

    /// <summary>JSON object of GitHub permission names to <c>read</c>/<c>write</c>/<c>admin</c>; empty = the installation's own.</summary>
    public string Permissions { get; set; } = "{}";

    /// <summary>JSON array of the stream subscriptions (their names) the client may read and acknowledge; empty = none.</summary>
    public string Streams { get; set; } = "[]";

    /// <summary>The App whose installations the client is held to (<see cref="StoredApp"/>).</summary>
    public string App { get; set; } = StoredApp.Default;

    /// <summary>What it may do as that App: <c>none</c>, <c>read</c> or <c>admin</c> (column <c>AppAccess</c>; <c>App</c> before several Apps).</summary>
    public string AppAccess { get; set; } = "none";

    public bool Tokens { get; set; }

    public bool Admin { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>When the current key was issued (creation or the last rotation).</summary>
    public DateTimeOffset KeyIssuedAt { get; set; }
}
