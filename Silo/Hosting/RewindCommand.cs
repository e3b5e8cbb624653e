using System.Globalization;
using Analytics.Silo.Ingestion;
using Analytics.Streaming.Kafka;
using Confluent.Kafka;

namespace Analytics.Silo.Hosting;

/// <summary>
/// <c>Analytics.Silo rewind --to offset:N|time:ISO-8601|by:[-]N [--partition P]…</c>: moves the stream provider's
/// consumer group, with the silo's own settings (section <c>Kafka</c>), so that the silos replay from there when they
/// next start. Run it while the silos are stopped.
/// </summary>
internal static class RewindCommand
{
    public const string Verb = "rewind";

    public static async Task<int> RunAsync(string[] args)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        string? to = null;
        var partitions = new List<int>();
        for (var i = 1; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--to" when i + 1 < args.Length:
                    to = args[++i];
                    break;
                case "--partition" when i + 1 < args.Length && int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out var partition):
                    partitions.Add(partition);
                    i++;
                    break;
                default:
                    return Usage($"unexpected argument '{args[i]}'");
            }
        }

        if (to is null) return Usage("--to is required");

        var options = new KafkaStreamOptions();
        builder.Configuration.GetSection(IngestionServiceCollectionExtensions.SectionName).Bind(options);
        if (string.IsNullOrEmpty(options.BootstrapServers))
        {
            options.BootstrapServers = builder.Configuration["KAFKA_BOOTSTRAP"] is { Length: > 0 } fromEnvironment
                ? fromEnvironment
                : IngestionServiceCollectionExtensions.DefaultBootstrapServers;
        }

        try
        {
            var target = KafkaRewindTarget.Parse(to);
            var moves = await KafkaStreamRewind.RewindAsync(options, target, partitions.Count == 0 ? null : partitions);
            Console.WriteLine($"consumer group {options.ConsumerGroup}, topic {options.Topic} ({options.BootstrapServers}) moved to {to}:");
            foreach (var move in moves)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  partition {move.Partition}: {move.From?.ToString(CultureInfo.InvariantCulture) ?? "none"} -> {move.To}"));
            }

            Console.WriteLine("The silos read from there when they next take the partitions (start them now; a running silo would overwrite this).");
            return 0;
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException or KafkaException or Orleans.Runtime.OrleansConfigurationException)
        {
            Console.Error.WriteLine($"rewind failed: {ex.Message}");
            return 2;
        }
    }

    private static int Usage(string problem)
    {
        Console.Error.WriteLine($"rewind: {problem}");
        Console.Error.WriteLine("usage: Analytics.Silo rewind --to offset:N|time:2026-11-25T10:00:00Z|by:-1000 [--partition P]...");
        Console.Error.WriteLine("Settings (Kafka:BootstrapServers, Kafka:Topic, Kafka:ConsumerGroup, Kafka:Partitions) as for the silo.");
        return 2;
    }
}
