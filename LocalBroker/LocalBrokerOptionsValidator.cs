using System.Net;
using Microsoft.Extensions.Options;

namespace Analytics.LocalBroker;

/// <summary>Checks <see cref="LocalBrokerOptions"/> at start-up; every message names the setting it is about.</summary>
public sealed class LocalBrokerOptionsValidator : IValidateOptions<LocalBrokerOptions>
{
    private const string Prefix = LocalBrokerOptions.SectionName + ":";

    public ValidateOptionsResult Validate(string? name, LocalBrokerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();

        if (options.Brokers is < 1 or > MockKafkaCluster.MaxBrokerCount)
        {
            failures.Add($"{Prefix}{nameof(options.Brokers)} must be between 1 and {MockKafkaCluster.MaxBrokerCount} (it is {options.Brokers})");
        }

        if (options.Partitions is < 1 or > MockKafkaCluster.MaxPartitions)
        {
            failures.Add($"{Prefix}{nameof(options.Partitions)} must be between 1 and {MockKafkaCluster.MaxPartitions} (it is {options.Partitions})");
        }

        ValidateTopics(options, failures);

        if (options.BootstrapFile is { } file)
        {
            ValidateBootstrapFile(file, failures);
        }

        if (!TryParseControlUrl(options.ControlUrl, out _, out var problem))
        {
            failures.Add($"{Prefix}{nameof(options.ControlUrl)} {problem}");
        }

        if (options.GroupInitialRebalanceDelay < TimeSpan.Zero || options.GroupInitialRebalanceDelay > TimeSpan.FromMinutes(5))
        {
            failures.Add($"{Prefix}{nameof(options.GroupInitialRebalanceDelay)} must be between 00:00:00 and 00:05:00 (it is {options.GroupInitialRebalanceDelay})");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>Parses a control URL: <c>http</c>, a loopback host, an explicit port, no path.</summary>
    /// <param name="url">The configured value.</param>
    /// <param name="endpoint">The address and port to listen on.</param>
    /// <param name="problem">What is wrong, phrased to follow the setting's name.</param>
    public static bool TryParseControlUrl(string? url, out IPEndPoint endpoint, out string problem)
    {
        endpoint = new IPEndPoint(IPAddress.Loopback, 0);
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttp)
        {
            problem = $"must be an absolute http:// URL such as http://127.0.0.1:9644 (it is '{url}')";
            return false;
        }

        if (uri.AbsolutePath != "/" || uri.Query.Length > 0)
        {
            problem = $"must not have a path or query (it is '{url}')";
            return false;
        }

        IPAddress address;
        if (string.Equals(uri.Host, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            address = IPAddress.Loopback;
        }
        else if (!IPAddress.TryParse(uri.Host, out address!) || !IPAddress.IsLoopback(address))
        {
            problem = $"must use a loopback host, 127.0.0.1, [::1] or localhost, since the control API has no authentication (it is '{url}')";
            return false;
        }

        endpoint = new IPEndPoint(address, uri.Port);
        problem = string.Empty;
        return true;
    }

    private static void ValidateTopics(LocalBrokerOptions options, List<string> failures)
    {
        var names = options.TopicNames;
        if (names.Count == 0)
        {
            failures.Add($"{Prefix}{nameof(options.Topics)} must name at least one topic, comma-separated (it is '{options.Topics}')");
            return;
        }

        foreach (var topic in names)
        {
            if (!KafkaTopicName.IsValid(topic, out var problem))
            {
                failures.Add($"{Prefix}{nameof(options.Topics)}: {problem}");
            }
        }

        foreach (var duplicate in names.GroupBy(n => n, StringComparer.Ordinal).Where(g => g.Count() > 1))
        {
            failures.Add($"{Prefix}{nameof(options.Topics)} lists '{duplicate.Key}' more than once");
        }
    }

    private static void ValidateBootstrapFile(string file, List<string> failures)
    {
        if (string.IsNullOrWhiteSpace(file))
        {
            failures.Add($"{Prefix}{nameof(LocalBrokerOptions.BootstrapFile)} must be a file path when set (it is blank)");
            return;
        }

        string fullPath;
        try
        {
            fullPath = Path.GetFullPath(file);
        }
        catch (Exception ex) when (ex is ArgumentException or NotSupportedException or PathTooLongException)
        {
            failures.Add($"{Prefix}{nameof(LocalBrokerOptions.BootstrapFile)} is not a valid path: {ex.Message} (it is '{file}')");
            return;
        }

        var directory = Path.GetDirectoryName(fullPath);
        if (directory is null || !Directory.Exists(directory))
        {
            failures.Add($"{Prefix}{nameof(LocalBrokerOptions.BootstrapFile)} must be in an existing directory ('{directory}' does not exist)");
        }
        else if (Directory.Exists(fullPath))
        {
            failures.Add($"{Prefix}{nameof(LocalBrokerOptions.BootstrapFile)} must be a file path ('{fullPath}' is a directory)");
        }
    }
}
