using Npgsql;

namespace Analytics.WebApi.Apis;

/// <summary>Totals of what the pipeline has stored, read from PostgreSQL (live KPIs come from the grains in a later step).</summary>
public static class IngestionApi
{
    public static IEndpointRouteBuilder MapIngestionApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/ingestion", GetTotalsAsync)
            .WithName("GetIngestionTotals")
            .WithSummary("Events stored in raw_events and dead_letters, and how many arrived in the last minute.");
        return app;
    }

    private static async Task<IngestionTotals> GetTotalsAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            select (select count(*) from raw_events),
                   (select count(*) from raw_events where ingested_at > now() - interval '1 minute'),
                   (select max(event_time) from raw_events),
                   (select count(*) from dead_letters)
            """);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return new IngestionTotals(
            RawEvents: reader.GetInt64(0),
            EventsLastMinute: reader.GetInt64(1),
            LatestEventTime: reader.IsDBNull(2) ? null : reader.GetFieldValue<DateTimeOffset>(2),
            DeadLetters: reader.GetInt64(3));
    }
}

/// <summary>What <c>GET /api/ingestion</c> returns.</summary>
public sealed record IngestionTotals(long RawEvents, long EventsLastMinute, DateTimeOffset? LatestEventTime, long DeadLetters);
