using System.Text.Json;

namespace Hubgate.Problems;

/// <summary>
/// One kind of error Hubgate answers: its stable <c>type</c> URI (<see cref="HubgateProblems.BaseUri"/> + <see cref="Name"/>),
/// the HTTP status and a short title. The detail (what was wrong and what to do) is per answer.
/// </summary>
public sealed class ProblemKind
{
    internal ProblemKind(string name, int status, string title)
    {
        Name = name;
        Status = status;
        Title = title;
        Type = HubgateProblems.BaseUri + name;
        EncodedType = JsonEncodedText.Encode(Type);
        EncodedTitle = JsonEncodedText.Encode(Title);
    }

    /// <summary>The last segment of <see cref="Type"/>, e.g. <c>unknown-app</c>.</summary>
    public string Name { get; }

    /// <summary>The RFC 9457 <c>type</c>: clients tell kinds of errors apart by this string.</summary>
    public string Type { get; }

    /// <summary>The HTTP status answered with this kind.</summary>
    public int Status { get; }

    /// <summary>The RFC 9457 <c>title</c>: the same for every answer of this kind.</summary>
    public string Title { get; }

    /// <summary><see cref="Type"/> escaped once, for writers on hot paths.</summary>
    internal JsonEncodedText EncodedType { get; }

    /// <summary><see cref="Title"/> escaped once, for writers on hot paths.</summary>
    internal JsonEncodedText EncodedTitle { get; }

    /// <inheritdoc />
    public override string ToString() => Type;
}
