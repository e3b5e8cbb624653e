using Microsoft.Extensions.Configuration;

namespace Analytics.StreamingBenchmark.Phases;

/// <summary>
/// The settings the real silo ships with (<c>Silo/appsettings.json</c>, embedded at build time): its sections
/// <c>Kafka</c>, <c>Users</c>, <c>Funnel</c> and <c>Postgres</c>, flattened to configuration keys. Its logging, URLs and Orleans
/// ports are left out: the benchmark logs warnings only and picks free ports.
/// </summary>
internal static class SiloSettings
{
    private const string ResourceName = "Silo.appsettings.json";

    private static readonly string[] Sections = ["Kafka", "Users", "Funnel", "Postgres"];

    public static Dictionary<string, string?> Load()
    {
        using var stream = typeof(SiloSettings).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"The embedded resource {ResourceName} is missing (see StreamingBenchmark.csproj).");
        var configuration = new ConfigurationBuilder().AddJsonStream(stream).Build();
        var settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var section in Sections)
        {
            foreach (var (key, value) in configuration.GetSection(section).AsEnumerable())
            {
                if (value is not null) settings[key] = value;
            }
        }

        return settings;
    }
}
