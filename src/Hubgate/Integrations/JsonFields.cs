using System.Globalization;
using System.Text.Json;

namespace Hubgate.Integrations;

/// <summary>
/// Tolerant reads of GitHub's payloads: a field that is missing, null or of an unexpected kind reads as null, so a
/// field GitHub adds, drops or changes never fails a delivery.
/// </summary>
internal static class JsonFields
{
    public static JsonElement? Object(this JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Object
            ? value
            : null;

    public static JsonElement? Array(this JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Array
            ? value
            : null;

    public static string? String(this JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;

    public static long? Int64(this JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number &&
        value.TryGetInt64(out var number)
            ? number
            : null;

    public static bool? Boolean(this JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value)
            ? value.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => null,
            }
            : null;

    /// <summary>
    /// A time as GitHub writes it — ISO 8601 with <c>Z</c> or an offset such as <c>-04:00</c>, or Unix seconds (some
    /// installation payloads) — converted to UTC.
    /// </summary>
    public static DateTimeOffset? Time(this JsonElement element, string name)
    {
        if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty(name, out var value))
        {
            return null;
        }

        return value.ValueKind switch
        {
            JsonValueKind.String when DateTimeOffset.TryParse(value.GetString(), CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal, out var parsed) => parsed.ToUniversalTime(),
            JsonValueKind.Number when value.TryGetInt64(out var seconds) && seconds is > 0 and < 253_402_300_800 =>
                DateTimeOffset.FromUnixTimeSeconds(seconds),
            _ => null,
        };
    }

    /// <summary>An object or array as compact JSON text (permissions, events), or null.</summary>
    public static string? RawJson(this JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) &&
        value.ValueKind is JsonValueKind.Object or JsonValueKind.Array
            ? JsonSerializer.Serialize(value)
            : null;

    /// <summary>The strings of an array field (file paths), skipping anything else.</summary>
    public static IEnumerable<string> Strings(this JsonElement element, string name)
    {
        if (element.Array(name) is not { } array)
        {
            yield break;
        }

        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind == JsonValueKind.String && item.GetString() is { } text)
            {
                yield return text;
            }
        }
    }
}
