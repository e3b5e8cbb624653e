using Npgsql;

namespace Analytics.Storage;

/// <summary>What one batch added: rows that were not stored before.</summary>
/// <param name="InsertedEvents">New rows in <c>raw_events</c>.</param>
/// <param name="InsertedDeadLetters">New rows in <c>dead_letters</c>.</param>
public readonly record struct IngestionBatchResult(int InsertedEvents, int InsertedDeadLetters);

/// <summary>
/// Stores what one batch of Kafka messages became — valid events and dead letters — in a single transaction, so a
/// batch is either wholly stored or not at all, and a retry after a failure sees exactly the state before it.
/// </summary>
public sealed class IngestionBatchWriter
{
    private readonly NpgsqlDataSource _dataSource;

    public IngestionBatchWriter(NpgsqlDataSource dataSource)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        _dataSource = dataSource;
    }

    /// <summary>Stores both parts of the batch; idempotent like <see cref="RawEventWriter"/> and <see cref="DeadLetterWriter"/>.</summary>
    public async Task<IngestionBatchResult> WriteAsync(
        IReadOnlyCollection<RawEvent> events, IReadOnlyCollection<DeadLetter> deadLetters, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(events);
        ArgumentNullException.ThrowIfNull(deadLetters);
        if (events.Count == 0 && deadLetters.Count == 0)
        {
            return default;
        }

        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        if (deadLetters.Count == 0 && events.Count <= RawEventWriter.RowsPerStatement)
        {
            // One statement is atomic by itself: no transaction, so no round trip for its COMMIT.
            return new IngestionBatchResult(await RawEventWriter.WriteAsync(connection, transaction: null, events, cancellationToken).ConfigureAwait(false), 0);
        }

        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var insertedEvents = await RawEventWriter.WriteAsync(connection, transaction, events, cancellationToken).ConfigureAwait(false);
        var insertedLetters = await DeadLetterWriter.WriteAsync(connection, transaction, deadLetters, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return new IngestionBatchResult(insertedEvents, insertedLetters);
    }
}
