using System.ComponentModel.DataAnnotations;
using System.Globalization;

namespace Hubgate;

/// <summary>
/// <see cref="RangeAttribute"/> whose failure names the configuration key and the value refused
/// (<c>Webhooks:MaxAttempts must be between 1 and 1000 (was 0).</c>), for the source-generated options validators.
/// </summary>
[AttributeUsage(AttributeTargets.Property, AllowMultiple = false)]
internal sealed class ConfigurationRangeAttribute : RangeAttribute
{
    /// <summary>A range of whole numbers for <paramref name="key"/>.</summary>
    public ConfigurationRangeAttribute(string key, int minimum, int maximum)
        : base(minimum, maximum) => Key = key;

    /// <summary>A range of <paramref name="type"/> (e.g. <see cref="TimeSpan"/>) values, given as invariant text, for <paramref name="key"/>.</summary>
    public ConfigurationRangeAttribute(string key, Type type, string minimum, string maximum)
        : base(type, minimum, maximum)
    {
        Key = key;
        ParseLimitsInInvariantCulture = true;
        ConvertValueInInvariantCulture = true;
    }

    /// <summary>The configuration key the property is bound from, e.g. <c>Webhooks:MaxAttempts</c>.</summary>
    public string Key { get; }

    protected override ValidationResult? IsValid(object? value, ValidationContext validationContext)
    {
        ArgumentNullException.ThrowIfNull(validationContext);
        return IsValid(value)
            ? ValidationResult.Success
            : new ValidationResult(
                string.Format(CultureInfo.InvariantCulture, "{0} must be between {1} and {2} (was {3}).", Key, Minimum, Maximum, value),
                validationContext.MemberName is { } member ? [member] : null);
    }
}
