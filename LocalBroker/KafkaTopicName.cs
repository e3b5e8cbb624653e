using System.Diagnostics.CodeAnalysis;

namespace Analytics.LocalBroker;

/// <summary>Apache Kafka's rules for topic names, checked before a name reaches the mock cluster.</summary>
public static class KafkaTopicName
{
    /// <summary>Kafka's limit on a topic name's length.</summary>
    public const int MaxLength = 249;

    /// <summary>Checks <paramref name="name"/> against Kafka's rules.</summary>
    /// <param name="name">The candidate topic name.</param>
    /// <param name="problem">Why the name is not valid, or <see langword="null"/> when it is.</param>
    /// <returns><see langword="true"/> when Apache Kafka would accept the name.</returns>
    public static bool IsValid([NotNullWhen(true)] string? name, [NotNullWhen(false)] out string? problem)
    {
        if (string.IsNullOrEmpty(name))
        {
            problem = "a topic name must not be empty";
            return false;
        }

        if (name.Length > MaxLength)
        {
            problem = $"topic name '{name}' is longer than {MaxLength} characters";
            return false;
        }

        if (name is "." or "..")
        {
            problem = $"topic name '{name}' is not allowed";
            return false;
        }

        foreach (var c in name)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('.' or '_' or '-'))
            {
                problem = $"topic name '{name}' may only contain ASCII letters, digits, '.', '_' and '-'";
                return false;
            }
        }

        problem = null;
        return true;
    }
}
