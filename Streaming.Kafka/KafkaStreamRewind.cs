using System.Globalization;
using Confluent.Kafka;

namespace Analytics.Streaming.Kafka;

/// <summary>Where to move a provider's partitions back (or forward) to.</summary>
public abstract record KafkaRewindTarget
{
    private KafkaRewindTarget()
    {
    }

    /// <summary>This offset in every chosen partition (clamped to what the broker still has).</summary>
    public sealed record ToOffset(long Offset) : KafkaRewindTarget;

    /// <summary>The first message at or after this time (Kafka's message timestamp); the end where there is none.</summary>
    public sealed record ToTime(DateTimeOffset Time) : KafkaRewindTarget;

    /// <summary>The committed offset moved by this many messages (negative: back), clamped to what the broker has.</summary>
    public sealed record By(long Messages) : KafkaRewindTarget;

    /// <summary>Parses <c>offset:N</c>, <c>time:2026-11-25T10:00:00Z</c> or <c>by:-1000</c>.</summary>
    /// <exception cref="FormatException">Not one of those forms.</exception>
    public static KafkaRewindTarget Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        var kind = colon < 0 ? "" : text[..colon];
        var value = colon < 0 ? "" : text[(colon + 1)..];
        return kind switch
        {
            "offset" when long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var offset) => new ToOffset(offset),
            "time" when DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time) => new ToTime(time),
            "by" when long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var by) => new By(by),
            _ => throw new FormatException($"'{text}' is not a rewind target: use offset:N, time:<ISO-8601 time> or by:[-]N."),
        };
    }
}

/// <summary>One partition's move: where its group was, and where it is now.</summary>
public readonly record struct KafkaRewoundPartition(int Partition, long? From, long To);

/// <summary>
/// Rewinds a Kafka stream provider: commits new offsets for its consumer group, so that the silos read from there the
/// next time they take the partitions, and subscribers see those events again with their original tokens. Run it while
/// the silos are stopped: a running silo commits its own progress and would overwrite the rewind.
/// </summary>
public static class KafkaStreamRewind
{
    /// <summary>Moves <paramref name="partitions"/> (all of them when null) of the provider's topic to <paramref name="target"/>.</summary>
    public static Task<IReadOnlyList<KafkaRewoundPartition>> RewindAsync(
        KafkaStreamOptions options, KafkaRewindTarget target, IReadOnlyCollection<int>? partitions = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(target);
        new KafkaStreamOptionsValidator(options, pullingAgent: null, "rewind").ValidateConfiguration();
        var chosen = (partitions ?? [.. Enumerable.Range(0, options.Partitions)]).Order().ToList();
        foreach (var partition in chosen)
        {
            if (partition < 0 || partition >= options.Partitions)
            {
                throw new ArgumentOutOfRangeException(nameof(partitions), $"Partition {partition} is not one of the topic's 0..{options.Partitions - 1}.");
            }
        }

        return Task.Run(() => Rewind(options, target, chosen), cancellationToken);
    }

    private static IReadOnlyList<KafkaRewoundPartition> Rewind(KafkaStreamOptions options, KafkaRewindTarget target, List<int> partitions)
    {
        var config = new ConsumerConfig(new Dictionary<string, string>(options.Properties))
        {
            BootstrapServers = options.BootstrapServers,
            GroupId = options.ConsumerGroup,
            EnableAutoCommit = false,
        };
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(config).SetLogHandler((_, _) => { }).Build();
        using var reader = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig(new Dictionary<string, string>(options.Properties))
        {
            BootstrapServers = options.BootstrapServers,
            GroupId = options.ConsumerGroup + "-rewind-reader",
            EnableAutoCommit = false,
        }).SetLogHandler((_, _) => { }).Build();
        var topicPartitions = partitions.Select(p => new TopicPartition(options.Topic, p)).ToList();
        var committed = consumer.Committed(topicPartitions, options.StartupTimeout)
            .ToDictionary(c => c.Partition.Value, c => c.Offset.IsSpecial ? (long?)null : c.Offset.Value);
        var bounds = topicPartitions.ToDictionary(tp => tp.Partition.Value, tp => consumer.QueryWatermarkOffsets(tp, options.StartupTimeout));
        var moves = new List<KafkaRewoundPartition>();
        foreach (var partition in partitions)
        {
            var (low, high) = (bounds[partition].Low.Value, bounds[partition].High.Value);
            long wanted = target switch
            {
                KafkaRewindTarget.ToOffset to => to.Offset,
                KafkaRewindTarget.ToTime time => FirstAtOrAfter(reader, new TopicPartition(options.Topic, partition), low, high, time.Time, options.StartupTimeout),
                KafkaRewindTarget.By by => (committed[partition] ?? low) + by.Messages,
                _ => throw new ArgumentOutOfRangeException(nameof(target)),
            };
            moves.Add(new KafkaRewoundPartition(partition, committed[partition], Math.Clamp(wanted, low, high)));
        }

        consumer.Commit([.. moves.Select(m => new TopicPartitionOffset(options.Topic, m.Partition, m.To))]);
        return moves;
    }

    /// <summary>
    /// The first offset in [<paramref name="low"/>, <paramref name="high"/>) whose message is stamped at or after
    /// <paramref name="time"/> (<paramref name="high"/> if none), by binary search over the messages' own timestamps,
    /// assuming they grow with the offset (producers' clocks). This is what Kafka's time index answers; searching
    /// ourselves costs a few reads per partition and works on brokers without that index, like the development one.
    /// </summary>
    private static long FirstAtOrAfter(IConsumer<Ignore, Ignore> reader, TopicPartition partition, long low, long high, DateTimeOffset time, TimeSpan timeout)
    {
        var wanted = time.ToUnixTimeMilliseconds();
        var (from, to) = (low, high);
        while (from < to)
        {
            var middle = from + ((to - from) / 2);
            reader.Assign(new TopicPartitionOffset(partition, middle));
            var message = reader.Consume(timeout);
            if (message is null || message.IsPartitionEOF || message.Offset.Value >= to)
            {
                to = middle; // nothing readable from here to the end of the range: the answer is at or before it
            }
            else if (message.Message.Timestamp.UnixTimestampMs >= wanted)
            {
                to = middle; // offsets between middle and this message do not exist, so middle stands for it
            }
            else
            {
                from = message.Offset.Value + 1;
            }
        }

        reader.Unassign();
        return from;
    }
}
