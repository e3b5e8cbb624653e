using Analytics.TestInfrastructure;

namespace Analytics.Storage.Tests;

[Collection(PostgresCollection.Name)]
public sealed class DeadLetterWriterTests(PostgresFixture fixture)
{
    private static readonly DateTimeOffset ReceivedAt = new(2026, 3, 1, 12, 0, 0, 250, TimeSpan.Zero);

    [Fact]
    public async Task Write_NewLetters_StoresThemAsGiven()
    {
        await using var dataSource = await TestDatabase.CreateMigratedAsync(fixture.Server);
        byte[] payload = [0x7B, 0x00, 0xFF, 0x22];

        var inserted = await new DeadLetterWriter(dataSource).WriteAsync(
            [
                new DeadLetter("user-events", 2, 17, payload, "InvalidJson: invalid JSON at line 1, byte 2", ReceivedAt.ToOffset(TimeSpan.FromHours(-5))),
                new DeadLetter("user-events", 2, 18, [], "Empty: the payload is empty", ReceivedAt),
            ],
            CancellationToken.None);

        Assert.Equal(2, inserted);
        var rows = await TestDatabase.ListAsync(
            dataSource,
            "SELECT topic, kafka_partition, kafka_offset, payload, reason, received_at FROM dead_letters ORDER BY kafka_offset",
            r => (Topic: r.GetString(0), Partition: r.GetInt32(1), Offset: r.GetInt64(2), Payload: (byte[])r[3], Reason: r.GetString(4), ReceivedAt: r.GetFieldValue<DateTimeOffset>(5)));
        Assert.Equal(("user-events", 2, 17L), (rows[0].Topic, rows[0].Partition, rows[0].Offset));
        Assert.Equal(payload, rows[0].Payload);
        Assert.Equal("InvalidJson: invalid JSON at line 1, byte 2", rows[0].Reason);
        Assert.Equal(ReceivedAt, rows[0].ReceivedAt);
        Assert.Empty(rows[1].Payload);
    }

    [Fact]
    public async Task Write_SameLettersTwice_IsIdempotent()
    {
        await using var dataSource = await TestDatabase.CreateMigratedAsync(fixture.Server);
        var writer = new DeadLetterWriter(dataSource);
        DeadLetter[] letters =
        [
            new("user-events", 0, 1, [1], "MissingField: missing field 'user_id'", ReceivedAt),
            new("user-events", 0, 2, [2], "MissingField: missing field 'price'", ReceivedAt),
        ];

        var first = await writer.WriteAsync(letters, CancellationToken.None);
        var second = await writer.WriteAsync(letters, CancellationToken.None);

        Assert.Equal(2, first);
        Assert.Equal(0, second);
        Assert.Equal(2L, await TestDatabase.ScalarAsync<long>(dataSource, "SELECT count(*) FROM dead_letters"));
    }

    [Fact]
    public async Task Write_NewPayloadAtAReusedOffset_IsKept()
    {
        // A recreated topic (or a restarted development broker) hands out offsets again from zero.
        await using var dataSource = await TestDatabase.CreateMigratedAsync(fixture.Server);
        var writer = new DeadLetterWriter(dataSource);

        var first = await writer.WriteAsync([new DeadLetter("user-events", 3, 40, [1, 2], "InvalidJson: first", ReceivedAt)], CancellationToken.None);
        var second = await writer.WriteAsync([new DeadLetter("user-events", 3, 40, [9, 9], "InvalidJson: second", ReceivedAt)], CancellationToken.None);

        Assert.Equal((1, 1), (first, second));
        Assert.Equal(2L, await TestDatabase.ScalarAsync<long>(dataSource, "SELECT count(*) FROM dead_letters WHERE kafka_offset = 40"));
    }

    [Fact]
    public async Task Write_LettersWithoutKafkaCoordinates_AreAlwaysKept()
    {
        await using var dataSource = await TestDatabase.CreateMigratedAsync(fixture.Server);
        var writer = new DeadLetterWriter(dataSource);
        var letter = new DeadLetter("http-ingest", null, null, [1, 2, 3], "InvalidJson: not an object", ReceivedAt);

        await writer.WriteAsync([letter], CancellationToken.None);
        await writer.WriteAsync([letter], CancellationToken.None);

        Assert.Equal(2L, await TestDatabase.ScalarAsync<long>(dataSource, "SELECT count(*) FROM dead_letters WHERE kafka_partition IS NULL AND kafka_offset IS NULL"));
    }

    [Fact]
    public async Task Write_ReasonQuotingAwkwardText_IsStored()
    {
        await using var dataSource = await TestDatabase.CreateMigratedAsync(fixture.Server);

        var inserted = await new DeadLetterWriter(dataSource).WriteAsync(
            [new DeadLetter("user-events", 0, 5, [0], "UnknownEventType: unknown event_type '\0'", ReceivedAt)],
            CancellationToken.None);

        Assert.Equal(1, inserted);
        Assert.Equal("UnknownEventType: unknown event_type '\uFFFD'", await TestDatabase.ScalarAsync<string>(dataSource, "SELECT reason FROM dead_letters"));
    }

    [Fact]
    public async Task Write_Empty_ReturnsZeroWithoutConnecting()
    {
        await using var dataSource = TestDatabase.Unreachable(FreePorts.Next());

        Assert.Equal(0, await new DeadLetterWriter(dataSource).WriteAsync([], CancellationToken.None));
    }
}
