using System.Collections;
using System.Reflection;
using Hubgate.Apps;
using Hubgate.Authentication;
using Hubgate.Integrations;
using Hubgate.Storage;

namespace Hubgate.Server.Tests.Docs;

/// <summary>
/// Every configuration key Hubgate reads, found by reflection over its options classes and the sections they are bound
/// to: a class with a <c>SectionName</c> constant is bound there; the few bound otherwise are listed in
/// <see cref="OtherBindings"/> with where, and the keys read without an options class in <see cref="KeysWithoutOptions"/>.
/// A dictionary property is a section whose children you name (<c>Hubgate:Clients:{name}</c>); a list takes indexes
/// (<c>…:0</c>); a property whose type is another class is a section of that class's keys.
/// </summary>
internal sealed class ConfigurationSchema
{
    /// <summary>Options classes bound without a <c>SectionName</c> of their own, and where.</summary>
    private static readonly (Type Options, string Section, string Where)[] OtherBindings =
    [
        (typeof(SyncOptions), GitHubAppOptions.SectionName, "AddGitHubIntegrationModel binds it to GetSection(\"GitHub\")"),
    ];

    /// <summary>
    /// Options classes that are not bound to a section themselves but reached another way: through a property of a
    /// bound class, or read by hand.
    /// </summary>
    private static readonly (Type Options, string Why)[] NotBoundThemselves =
    [
        (typeof(GitHubAppsOptions), "read by hand in GitHubAppsOptions.Read: GitHub itself is the App default, GitHub:Apps:{name} the others (mounted below)"),
        (typeof(Hubgate.Server.Access.ClientOptions), "the values of ApiKeyOptions.Clients (Hubgate:Clients:{name})"),
        (typeof(Hubgate.Webhooks.Subscriptions.SubscriptionOptions), "each child of Subscriptions but AllowLoopback (Subscriptions:{name}), read by SubscriptionsConfiguration (mounted below)"),
        (typeof(Hubgate.Webhooks.Subscriptions.RabbitMq.RabbitMqOptions), "SubscriptionOptions.RabbitMq (Subscriptions:{name}:RabbitMq)"),
        (typeof(Hubgate.Webhooks.Store.Log.SegmentLogOptions), "not configuration yet: the segment log's constructor settings; it is not wired into ingest (docs/design/log-inbox.md)"),
    ];

    /// <summary>Keys read straight from configuration, not through an options class.</summary>
    private static readonly (string Key, string Where)[] KeysWithoutOptions =
    [
        (DataDirectory.ConfigurationKey, "DataDirectory.Resolve"),
        ("ConnectionStrings:Hubgate", "configuration.GetConnectionString(\"Hubgate\") in AddHubgateStorage"),
    ];

    /// <summary>Sections that belong to ASP.NET Core, not Hubgate: any key below them is accepted.</summary>
    private static readonly string[] ForeignSections = ["Logging"];

    private readonly Dictionary<string, Node> _roots = new(StringComparer.Ordinal);

    private ConfigurationSchema()
    {
    }

    public IEnumerable<string> Sections => _roots.Keys;

    /// <summary>The options classes in Hubgate's assemblies (a public or internal class named <c>…Options</c>, not static).</summary>
    public static IReadOnlyList<Type> OptionsClasses() =>
        [.. new[] { typeof(GitHubAppOptions).Assembly, typeof(Program).Assembly }
            .SelectMany(a => a.GetTypes())
            .Where(t => t.IsClass && !(t.IsAbstract && t.IsSealed) && t.Name.EndsWith("Options", StringComparison.Ordinal)
                        && !t.IsDefined(typeof(System.Runtime.CompilerServices.CompilerGeneratedAttribute)))
            .OrderBy(t => t.FullName, StringComparer.Ordinal)];

    /// <summary>Where each options class is bound, or why it is not; null for a class nobody accounted for.</summary>
    public static string? HowBound(Type options)
    {
        if (SectionOf(options) is { } section)
        {
            return section;
        }

        return NotBoundThemselves.Where(n => n.Options == options).Select(n => n.Why).FirstOrDefault();
    }

    public static ConfigurationSchema Build()
    {
        var schema = new ConfigurationSchema();
        foreach (var options in OptionsClasses())
        {
            if (SectionOf(options) is { } section)
            {
                schema.Root(section).Merge(Node.For(options));
            }
        }

        // GitHub:Apps:{name} holds a further App's GitHubAppOptions (GitHubAppsOptions.Read).
        var apps = schema.Root(GitHubAppOptions.SectionName).Child(GitHubAppsOptions.AppsSectionName);
        apps.AnyName = Node.For(typeof(GitHubAppOptions));

        // Subscriptions:{name} holds a subscription (SubscriptionsConfiguration reads the section by hand); what
        // SubscriptionsOptions carries besides AllowLoopback is the result of that reading, not keys.
        var subscriptions = schema.Root(Hubgate.Webhooks.Subscriptions.SubscriptionsOptions.SectionName);
        subscriptions.Children.Remove(nameof(Hubgate.Webhooks.Subscriptions.SubscriptionsOptions.Declared));
        subscriptions.Children.Remove(nameof(Hubgate.Webhooks.Subscriptions.SubscriptionsOptions.Problems));
        subscriptions.AnyName = Node.For(typeof(Hubgate.Webhooks.Subscriptions.SubscriptionOptions));

        foreach (var (key, _) in KeysWithoutOptions)
        {
            var parts = key.Split(':');
            var node = schema.Root(parts[0]);
            foreach (var part in parts.Skip(1))
            {
                node = node.Child(part);
            }

            node.IsLeaf = true;
        }

        foreach (var foreign in ForeignSections)
        {
            schema.Root(foreign).AcceptsAnything = true;
        }

        return schema;
    }

    /// <summary>
    /// The key's canonical form (names you choose as <c>{}</c>, list indexes left out) when it exists, else why not.
    /// A key may stop at a section (<c>GitHub:Apps:{name}</c>) or end in <c>*</c> or <c>…</c> (anything below).
    /// </summary>
    public (string? Canonical, string? Error) Resolve(IReadOnlyList<string> segments)
    {
        if (!_roots.TryGetValue(segments[0], out var node))
        {
            return (null, $"no section '{segments[0]}'");
        }

        var canonical = new List<string> { segments[0] };
        foreach (var segment in segments.Skip(1))
        {
            if (segment is "*" or "…" || node.AcceptsAnything)
            {
                return (string.Join(':', canonical), null);
            }

            if (node.Children.TryGetValue(segment, out var child))
            {
                node = child;
                canonical.Add(segment);
            }
            else if (node.AnyName is { } named)
            {
                node = named;
                canonical.Add("{}");
            }
            else if (node.IsList && segment.All(char.IsAsciiDigit))
            {
                // An index into a list: the list itself is the key.
            }
            else
            {
                var near = node.Children.Keys.FirstOrDefault(k => string.Equals(k, segment, StringComparison.OrdinalIgnoreCase));
                var hint = near is null ? $"known here: {string.Join(", ", node.Children.Keys.Order(StringComparer.Ordinal))}" : $"written '{near}' in the code";
                return (null, $"'{string.Join(':', canonical)}' has no '{segment}' ({hint})");
            }
        }

        return (string.Join(':', canonical), null);
    }

    /// <summary>Every key a value can be given at, in canonical form (<c>Hubgate:Clients:{}:Permissions:{}</c>).</summary>
    public IReadOnlyList<string> Leaves()
    {
        var leaves = new List<string>();
        foreach (var (name, root) in _roots.Where(r => !r.Value.AcceptsAnything))
        {
            root.CollectLeaves(name, leaves);
        }

        return leaves;
    }

    private static string? SectionOf(Type options)
    {
        if (options.GetField("SectionName", BindingFlags.Public | BindingFlags.Static) is { IsLiteral: true } field)
        {
            return (string?)field.GetRawConstantValue();
        }

        return OtherBindings.Where(b => b.Options == options).Select(b => b.Section).FirstOrDefault();
    }

    private Node Root(string section)
    {
        if (!_roots.TryGetValue(section, out var node))
        {
            node = new Node();
            _roots[section] = node;
        }

        return node;
    }

    /// <summary>A section or a key.</summary>
    private sealed class Node
    {
        public Dictionary<string, Node> Children { get; } = new(StringComparer.Ordinal);

        /// <summary>For a dictionary: what each child you name holds.</summary>
        public Node? AnyName { get; set; }

        public bool IsLeaf { get; set; }

        public bool IsList { get; set; }

        public bool AcceptsAnything { get; set; }

        public Node Child(string name)
        {
            if (!Children.TryGetValue(name, out var child))
            {
                child = new Node();
                Children[name] = child;
            }

            return child;
        }

        public void Merge(Node other)
        {
            foreach (var (name, child) in other.Children)
            {
                Children[name] = child;
            }
        }

        public void CollectLeaves(string path, List<string> leaves)
        {
            if (IsLeaf)
            {
                leaves.Add(path);
            }

            foreach (var (name, child) in Children)
            {
                child.CollectLeaves($"{path}:{name}", leaves);
            }

            AnyName?.CollectLeaves($"{path}:{{}}", leaves);
        }

        /// <summary>The keys of an options class: its properties the configuration binder fills.</summary>
        public static Node For(Type options)
        {
            var node = new Node();
            foreach (var property in options.GetProperties(BindingFlags.Public | BindingFlags.Instance))
            {
                if (property.GetIndexParameters().Length > 0 || property.GetMethod is not { IsPublic: true })
                {
                    continue;
                }

                // The binder sets a property with a public setter, and fills a collection or class it can only get.
                var settable = property.SetMethod is { IsPublic: true };
                if (Describe(property.PropertyType) is { } value && (settable || !IsScalar(property.PropertyType)))
                {
                    node.Children[property.Name] = value;
                }
            }

            return node;
        }

        private static Node? Describe(Type type)
        {
            if (IsScalar(type))
            {
                return new Node { IsLeaf = true };
            }

            if (DictionaryValue(type) is { } value)
            {
                return new Node { AnyName = Describe(value) };
            }

            if (type != typeof(string) && typeof(IEnumerable).IsAssignableFrom(type))
            {
                return new Node { IsLeaf = true, IsList = true };
            }

            return type.IsClass ? For(type) : null;
        }

        private static Type? DictionaryValue(Type type) =>
            (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IDictionary<,>) ? type : type.GetInterfaces()
                .FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IDictionary<,>)))
            ?.GetGenericArguments() is [var key, var value] && key == typeof(string) ? value : null;

        private static bool IsScalar(Type type)
        {
            type = Nullable.GetUnderlyingType(type) ?? type;
            return type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(decimal) || type == typeof(TimeSpan)
                   || type == typeof(DateTimeOffset) || type == typeof(DateTime) || type == typeof(Uri) || type == typeof(Guid);
        }
    }
}
