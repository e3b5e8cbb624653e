using System.Text.Json;
using Npgsql;

namespace Analytics.PipelineBenchmark.Throughput;

/// <summary>
/// The running pipeline: the silo's ingestion counters (<c>/health/ingestion</c>: cheap, for the lag, instead of a
/// count over raw_events that would take PostgreSQL's CPU from the pipeline) and the sums over funnel_summary (a few
/// hundred rows) and churn_features (one row per user).
/// </summary>
internal sealed class OrleansPipeline : IPipelineUnderTest
{
    private const string SumsQuery = """
        SELECT (SELECT coalesce(sum(views + add_to_carts + purchases + late_events), 0) FROM funnel_summary)::bigint,
               (SELECT coalesce(sum(total_views + total_add_to_carts + total_purchases), 0) FROM churn_features)::bigint
        """;

    private readonly HttpClient _http;
    private readonly NpgsqlDataSource _database;

    public OrleansPipeline(string topic, Uri siloUrl, string postgres, IReadOnlyList<MeasuredProcess> processes)
    {
        Topic = topic;
        Processes = processes;
        _http = new HttpClient { BaseAddress = siloUrl, Timeout = TimeSpan.FromSeconds(10) };
        _database = NpgsqlDataSource.Create(postgres);
    }

    public string Name => "orleans";

    public string Topic { get; }

    public IReadOnlyList<MeasuredProcess> Processes { get; }

    public IReadOnlyList<string> ReflectedNames { get; } = ["raw_events", "funnel_summary", "churn_features"];

    public async Task<StoredSample> StoredAsync(CancellationToken cancellationToken)
    {
        using var response = await _http.GetAsync(new Uri("/health/ingestion", UriKind.Relative), cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode) throw new BenchmarkException($"the silo's /health/ingestion answered {(int)response.StatusCode}");
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        using var status = await JsonDocument.ParseAsync(body, cancellationToken: cancellationToken).ConfigureAwait(false);
        return new StoredSample(status.RootElement.GetProperty("inserted").GetInt64(), status.RootElement.GetProperty("missedOffsets").GetInt64());
    }

    public async Task<IReadOnlyList<long>> ReflectedAsync(CancellationToken cancellationToken)
    {
        var stored = await StoredAsync(cancellationToken).ConfigureAwait(false);
        await using var command = _database.CreateCommand(SumsQuery);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        return [stored.Stored, reader.GetInt64(0), reader.GetInt64(1)];
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await _database.DisposeAsync().ConfigureAwait(false);
    }
}
