using System.Globalization;
using System.Text;

namespace Hubgate.Webhooks.Subscriptions.RabbitMq;

/// <summary>
/// A routing key template (<c>github.{event}.{action}</c>): text and the placeholders <c>{event}</c>, <c>{action}</c>,
/// <c>{installation}</c> and <c>{repository}</c>. What a delivery lacks is <c>none</c>; a repository is
/// <c>owner/name</c> in lower case with <c>.</c> as <c>_</c>, so that it stays one word of a topic key.
/// </summary>
internal sealed class RoutingKeyTemplate
{
    /// <summary>What stands for a value the delivery does not have.</summary>
    public const string None = "none";

    /// <summary>The longest routing key AMQP allows, in UTF-8 bytes.</summary>
    public const int MaxBytes = 255;

    public static readonly IReadOnlyList<string> Placeholders = ["event", "action", "installation", "repository"];

    private readonly List<(string? Text, string? Placeholder)> _parts;

    private RoutingKeyTemplate(List<(string?, string?)> parts) => _parts = parts;

    /// <summary>The template, or null with <paramref name="problem"/> saying why it cannot be one.</summary>
    public static RoutingKeyTemplate? Parse(string? template, out string? problem)
    {
        problem = null;
        if (string.IsNullOrEmpty(template))
        {
            problem = "must not be empty";
            return null;
        }

        var parts = new List<(string?, string?)>();
        var text = new StringBuilder();
        for (var i = 0; i < template.Length; i++)
        {
            var c = template[i];
            if (c == '}')
            {
                problem = $"has a '}}' without its '{{' at {i.ToString(CultureInfo.InvariantCulture)} (was '{template}')";
                return null;
            }

            if (c != '{')
            {
                text.Append(c);
                continue;
            }

            var end = template.IndexOf('}', i + 1);
            if (end < 0)
            {
                problem = $"has a '{{' without its '}}' (was '{template}')";
                return null;
            }

            var name = template[(i + 1)..end];
            if (!Placeholders.Contains(name))
            {
                problem = $"has the unknown placeholder '{{{name}}}': use {string.Join(", ", Placeholders.Select(p => "{" + p + "}"))} (was '{template}')";
                return null;
            }

            if (text.Length > 0)
            {
                parts.Add((text.ToString(), null));
                text.Clear();
            }

            parts.Add((null, name));
            i = end;
        }

        if (text.Length > 0)
        {
            parts.Add((text.ToString(), null));
        }

        if (Encoding.UTF8.GetByteCount(template) > MaxBytes)
        {
            problem = $"is longer than the {MaxBytes.ToString(CultureInfo.InvariantCulture)} bytes of a routing key";
            return null;
        }

        return new RoutingKeyTemplate(parts);
    }

    /// <summary>The routing key of one delivery.</summary>
    public string Render(string @event, string? action, long? installation, string? repository)
    {
        var key = new StringBuilder();
        foreach (var (text, placeholder) in _parts)
        {
            key.Append(placeholder switch
            {
                null => text,
                "event" => Word(@event),
                "action" => Word(action),
                "installation" => installation?.ToString(CultureInfo.InvariantCulture) ?? None,
                _ => Word(repository?.ToLowerInvariant()),
            });
        }

        return key.ToString();
    }

    private static string Word(string? value) => string.IsNullOrEmpty(value) ? None : value.Replace('.', '_');
}
