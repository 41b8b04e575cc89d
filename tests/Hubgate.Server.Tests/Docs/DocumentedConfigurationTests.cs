using Hubgate.Testing;

namespace Hubgate.Server.Tests.Docs;

/// <summary>
/// The documentation and the options classes cannot drift apart: every configuration key a page under <c>docs/</c>
/// (or the README) names exists, and every key Hubgate binds has its row in <c>docs/configuration.md</c>. How a page
/// writes a key is in <see cref="DocumentedKeys"/>; how the keys are found in the code, in <see cref="ConfigurationSchema"/>.
/// </summary>
public sealed class DocumentedConfigurationTests
{
    /// <summary>Keys the binder fills that docs/configuration.md leaves out on purpose, and why.</summary>
    private static readonly (string Key, string Why)[] Undocumented =
    [
        ("Database:ConnectionString", "DatabaseOptions.ConnectionString carries the connection string Hubgate resolved; " +
                                      "the key to set is ConnectionStrings:Hubgate, which wins over it"),
    ];

    private static readonly ConfigurationSchema Schema = ConfigurationSchema.Build();

    private static string Root => Checkout.Root;

    public static TheoryData<string> Pages()
    {
        var pages = new TheoryData<string>();
        foreach (var page in Directory.EnumerateFiles(Path.Combine(Root, "docs"), "*.md").Append(Path.Combine(Root, "README.md"))
                     .Select(p => Path.GetRelativePath(Root, p).Replace('\\', '/')).Order(StringComparer.Ordinal))
        {
            pages.Add(page);
        }

        return pages;
    }

    [Theory]
    [MemberData(nameof(Pages))]
    public void EveryKeyAPageNames_ExistsInTheOptionsClasses(string page)
    {
        var problems = Check(File.ReadAllText(Path.Combine(Root, page)));
        Assert.True(problems.Count == 0, $"{page} names configuration keys Hubgate does not have:\n" +
                                         string.Join('\n', problems.Select(p => $"  line {p.Line}: `{p.Written}`: {p.Error}")));
    }

    [Fact]
    public void TheConfigurationPage_HasARowForEveryKeyHubgateBinds()
    {
        var rows = DocumentedKeys.Find(File.ReadAllText(Path.Combine(Root, "docs", "configuration.md")), Schema.Sections)
            .Where(k => k.InFirstColumn)
            .Select(k => Schema.Resolve(k.Segments).Canonical)
            .OfType<string>()
            .ToHashSet(StringComparer.Ordinal);
        var exempt = Undocumented.Select(u => u.Key).ToHashSet(StringComparer.Ordinal);

        var missing = Schema.Leaves().Where(k => !rows.Contains(k) && !exempt.Contains(k)).Order(StringComparer.Ordinal).ToList();

        Assert.True(missing.Count == 0, "docs/configuration.md has no row for (a {} is a name you choose; write it {name}): " +
                                        string.Join(", ", missing));
    }

    [Fact]
    public void EveryExemptionFromTheConfigurationPage_IsAKeyHubgateStillBinds()
    {
        var leaves = Schema.Leaves();
        Assert.All(Undocumented, u => Assert.Contains(u.Key, leaves));
    }

    [Fact]
    public void EveryOptionsClass_IsBoundToASection_OrSaysHowItIsReached()
    {
        var classes = ConfigurationSchema.OptionsClasses();
        Assert.Contains(classes, t => t.Name == "WebhookOptions");
        Assert.All(classes, t => Assert.True(ConfigurationSchema.HowBound(t) is not null,
            $"{t.FullName} has no SectionName constant and is not listed in ConfigurationSchema: say where it is bound, so its keys are checked against the docs."));
    }

    [Fact]
    public void TheCheck_FindsMisspelledKeys_InEveryFormAPageWritesThem()
    {
        const string page = """
            | `GitHub:AppID` | — | a wrong case |
            | `Webhooks:MaxAttempt` | `8` | a letter short |
            Set `GitHub:Apps:{name}:WebhookSecrets` and `Hubgate:Clients:{name}:Key` / `:KeySha265`.
            export Hubgate__Clients__ci__Permision__contents=read Database__Provder=Postgres
            `Integrations:SkipCommitMarker:Extra`, `DataProtection:Certificate`
            """;

        var problems = Check(page);

        Assert.Equal(
            ["GitHub:AppID", "Webhooks:MaxAttempt", "GitHub:Apps:{name}:WebhookSecrets", "Hubgate:Clients:{name}:KeySha265",
             "Hubgate__Clients__ci__Permision__contents", "Database__Provder", "Integrations:SkipCommitMarker:Extra", "DataProtection:Certificate"],
            problems.Select(p => p.Written));
        Assert.Contains("written 'AppId'", problems[0].Error, StringComparison.Ordinal);
    }

    [Fact]
    public void TheCheck_AcceptsKeysInEveryFormAPageWritesThem()
    {
        const string page = """
            | `GitHub:AppId` | — | the App |
            `GitHub:Apps:NAME:WebhookSecret`, `GitHub:Apps:staging`, `GitHub:Apps:{app}:…`, `GitHub:*`, `Webhooks:RecoverEvents`
            `Hubgate:Clients:{name}:Key` / `:KeySha256`, `Hubgate:Clients:{name}:Permissions:{permission}`, `Hubgate:DataDirectory`
            export GitHub__AdditionalWebhookSecrets__0=old Hubgate__Clients__ci__Permissions__contents=read $Hubgate__ApiKey
            `--Webhooks:MaxAttempts=5`, `ConnectionStrings:Hubgate`, `Logging:LogLevel:Default`, on GitHub: Settings
            """;

        Assert.Empty(Check(page));
        var keys = DocumentedKeys.Find(page, Schema.Sections);
        Assert.Equal(16, keys.Count);
        Assert.Equal(["GitHub:AppId"], keys.Where(k => k.InFirstColumn).Select(k => k.Written));
    }

    private static List<(string Written, int Line, string Error)> Check(string markdown) =>
        [.. DocumentedKeys.Find(markdown, Schema.Sections)
            .Select(k => (k.Written, k.Line, Schema.Resolve(k.Segments).Error))
            .Where(p => p.Error is not null)
            .Select(p => (p.Written, p.Line, p.Error!))];
}
