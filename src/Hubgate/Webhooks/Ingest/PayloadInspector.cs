using System.Text.Json;

namespace Hubgate.Webhooks;

/// <summary>What the inbox indexes from a payload: read without building a document.</summary>
internal readonly record struct PayloadFacts(string? Action, long? InstallationId, long? RepositoryId, long? HookId, string? RepositoryFullName = null);

/// <summary>
/// Validates that a body is one well-formed JSON object (nesting at most 64 deep) and reads the few top-level facts
/// the inbox stores, in one forward pass with <see cref="Utf8JsonReader"/>: no allocation beyond the action string,
/// whatever the body's size.
/// </summary>
internal static class PayloadInspector
{
    public static bool TryInspect(ReadOnlySpan<byte> body, out PayloadFacts facts)
    {
        facts = default;
        string? action = null, repositoryFullName = null;
        long? installationId = null, repositoryId = null, hookId = null;
        try
        {
            var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 64 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            var section = Section.None;
            while (reader.Read())
            {
                if (reader.TokenType != JsonTokenType.PropertyName)
                {
                    continue;
                }

                if (reader.CurrentDepth == 1)
                {
                    section = Section.None;
                    if (reader.ValueTextEquals("action"u8))
                    {
                        reader.Read();
                        action = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                    }
                    else if (reader.ValueTextEquals("installation"u8))
                    {
                        section = Section.Installation;
                    }
                    else if (reader.ValueTextEquals("repository"u8))
                    {
                        section = Section.Repository;
                    }
                    else if (reader.ValueTextEquals("hook_id"u8))
                    {
                        reader.Read();
                        hookId = Number(ref reader);
                    }
                }
                else if (reader.CurrentDepth == 2 && section == Section.Repository && reader.ValueTextEquals("full_name"u8))
                {
                    reader.Read();
                    repositoryFullName = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                }
                else if (reader.CurrentDepth == 2 && section != Section.None && reader.ValueTextEquals("id"u8))
                {
                    reader.Read();
                    if (section == Section.Installation)
                    {
                        installationId = Number(ref reader);
                    }
                    else
                    {
                        repositoryId = Number(ref reader);
                    }
                }
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            return false;
        }

        facts = new PayloadFacts(action, installationId, repositoryId, hookId, repositoryFullName);
        return true;
    }

    private static long? Number(ref Utf8JsonReader reader) =>
        reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var value) ? value : null;

    private enum Section
    {
        None,
        Installation,
        Repository,
    }
}
