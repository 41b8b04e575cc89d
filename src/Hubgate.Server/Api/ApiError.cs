namespace Hubgate.Server.Api;

/// <summary>Every API error answer: <c>{"error": "what was wrong and what to do"}</c>.</summary>
internal sealed record ApiError(string Error);
