namespace Hubgate.Server.Access;

/// <summary>The authenticated client of a request, set by the key check.</summary>
internal static class ClientContext
{
    private static readonly object Key = new();

    public static void SetClient(this HttpContext context, AccessClient client) => context.Items[Key] = client;

    /// <summary>The client; only endpoints behind <c>RequireApiKey</c> may ask.</summary>
    public static AccessClient GetClient(this HttpContext context) =>
        context.Items[Key] as AccessClient ?? throw new InvalidOperationException("The request was not authenticated as a client.");
}
