using System.Reflection;
using Analytics.Churn;
using Analytics.Churn.Serving;
using Analytics.Grains.Churn;
using Analytics.Grains.Funnel;
using Analytics.Grains.Users;
using Analytics.Producer.Cli;
using Analytics.Silo.Hosting;
using Analytics.Silo.Ingestion;
using Analytics.Storage;
using Analytics.Streaming.Kafka;
using Analytics.WebApi.Churn;
using Analytics.WebApi.Hosting;
using Analytics.WebApi.Live;
using Microsoft.Extensions.Configuration;

namespace Analytics.Deployment.Tests;

/// <summary>
/// What each .NET service reads from its configuration: the sections it binds and the options class each is bound to,
/// named through the constants the services use themselves (a renamed section or property breaks these tests).
/// Environment variable <c>A__B__C</c> is configuration key <c>A:B:C</c>.
/// </summary>
public sealed record ServiceContract(string ProjectFolder, Assembly Assembly, IReadOnlyDictionary<string, Type> Sections, IReadOnlySet<string> FlatKeys)
{
    public static readonly ServiceContract Silo = new(
        "Silo",
        typeof(SiloOptions).Assembly,
        new Dictionary<string, Type>(StringComparer.OrdinalIgnoreCase)
        {
            [PostgresOptions.SectionName] = typeof(PostgresOptions),
            [IngestionServiceCollectionExtensions.SectionName] = typeof(KafkaStreamOptions),
            [SiloOptions.SectionName] = typeof(SiloOptions),
            [ChurnServingOptions.SectionName] = typeof(ChurnServingOptions),
            [UserGrainOptions.SectionName] = typeof(UserGrainOptions),
            [FunnelOptions.SectionName] = typeof(FunnelOptions),
            [ChurnScoringOptions.SectionName] = typeof(ChurnScoringOptions),
        },
        // The silo falls back to KAFKA_BOOTSTRAP when Kafka:BootstrapServers is empty.
        new HashSet<string>(StringComparer.OrdinalIgnoreCase) { ProducerCli.BootstrapEnvironmentVariable });

    public static readonly ServiceContract WebApi = new(
        "WebApi",
        typeof(OrleansClientOptions).Assembly,
        new Dictionary<string, Type>(StringComparer.OrdinalIgnoreCase)
        {
            [PostgresOptions.SectionName] = typeof(PostgresOptions),
            [KafkaHealthOptions.SectionName] = typeof(KafkaHealthOptions),
            [OrleansClientOptions.SectionName] = typeof(OrleansClientOptions),
            [ChurnServingOptions.SectionName] = typeof(ChurnServingOptions),
            [RetrainingOptions.SectionName] = typeof(RetrainingOptions),
            [RetrainingExtensions.TrainingSection] = typeof(ChurnTrainingOptions),
            [DashboardOptions.SectionName] = typeof(DashboardOptions),
            [RequestLimitsOptions.SectionName] = typeof(RequestLimitsOptions),
            [RateLimitingOptions.SectionName] = typeof(RateLimitingOptions),
        },
        new HashSet<string>(StringComparer.OrdinalIgnoreCase));

    /// <summary>The simulator reads no configuration: only its command line and KAFKA_BOOTSTRAP.</summary>
    public static readonly ServiceContract Producer = new(
        "Producer",
        typeof(ProducerCli).Assembly,
        new Dictionary<string, Type>(StringComparer.OrdinalIgnoreCase),
        new HashSet<string>(StringComparer.OrdinalIgnoreCase) { ProducerCli.BootstrapEnvironmentVariable });

    public static readonly IReadOnlyList<ServiceContract> All = [Silo, WebApi, Producer];

    public static ServiceContract? ForProjectFolder(string? folder) => All.FirstOrDefault(c => c.ProjectFolder == folder);

    /// <summary>
    /// Problems with <paramref name="environment"/>: a variable that is no setting of this service, or a value its
    /// options class cannot take. Each section is bound with the configuration binder the services use, refusing keys
    /// that match no property (a dictionary property such as <c>Kafka:Properties</c> takes any sub-key).
    /// </summary>
    public IReadOnlyList<string> Check(string service, IReadOnlyDictionary<string, string> environment)
    {
        var problems = new List<string>();
        var settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in environment)
        {
            if (IsHostSetting(name) || FlatKeys.Contains(name)) continue;
            var key = name.Replace("__", ":", StringComparison.Ordinal);
            var section = key.Split(':')[0];
            if (Sections.Count == 0 || key == section)
            {
                problems.Add($"{service}: environment variable {name} is no setting that {Assembly.GetName().Name} reads");
                continue;
            }

            if (!Sections.ContainsKey(section))
            {
                problems.Add($"{service}: environment variable {name}: section '{section}' is not read by {Assembly.GetName().Name} (it reads {string.Join(", ", Sections.Keys)})");
                continue;
            }

            settings[key] = value;
        }

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        foreach (var section in settings.Keys.Select(k => k.Split(':')[0]).Distinct(StringComparer.OrdinalIgnoreCase))
        {
            var type = Sections[section];
            try
            {
                configuration.GetSection(section).Get(type, binder => binder.ErrorOnUnknownConfiguration = true);
            }
            catch (InvalidOperationException ex)
            {
                problems.Add($"{service}: section {section} does not bind to {type.Name}: {ex.Message}{(ex.InnerException is null ? "" : " " + ex.InnerException.Message)}");
            }
        }

        return problems;
    }

    /// <summary>Read by the ASP.NET Core / .NET host itself, not by an options class of ours.</summary>
    private bool IsHostSetting(string name)
        => Sections.Count > 0 && (name.Equals("Urls", StringComparison.OrdinalIgnoreCase)
               || name.StartsWith("Logging__", StringComparison.OrdinalIgnoreCase)
               || name.StartsWith("ASPNETCORE_", StringComparison.OrdinalIgnoreCase))
           || name.StartsWith("DOTNET_", StringComparison.OrdinalIgnoreCase);
}
