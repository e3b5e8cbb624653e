using System.Runtime.InteropServices;
using Analytics.LocalBroker.Native;
using Confluent.Kafka;

namespace Analytics.LocalBroker;

/// <summary>
/// A Kafka cluster served by librdkafka's built-in mock (<c>rd_kafka_mock_*</c>) on 127.0.0.1, in this process.
/// Any Kafka client, in this process or another, connects to <see cref="BootstrapServers"/> as to Apache Kafka.
/// </summary>
/// <remarks>
/// <para>
/// The mock keeps everything in memory, and per partition only the newest record batches: after each append it drops
/// the oldest batch while the partition holds more than 5 MiB (5,242,880 bytes of batches as sent, so compressed) or
/// more than 100,000 batches, always keeping the newest one (librdkafka's <c>rdkafka_mock.c</c>, hard-coded). A v2
/// batch carries 61 bytes of header, so the size limit is the one that bites. Consumers behind the dropped data get
/// OFFSET_OUT_OF_RANGE and follow <c>auto.offset.reset</c>. The mock does not implement the admin CreateTopics
/// request: create topics with <see cref="CreateTopic"/>; topics a client uses without creating them are
/// auto-created with 4 partitions.
/// </para>
/// <para>All members are thread-safe. Dispose the cluster to close its listeners and free its memory.</para>
/// </remarks>
public sealed class MockKafkaCluster : IDisposable
{
    /// <summary>Upper bound accepted for the broker count.</summary>
    public const int MaxBrokerCount = 32;

    /// <summary>Upper bound accepted for a topic's partition count.</summary>
    public const int MaxPartitions = 1000;

    private const int ErrorBufferSize = 512;

    private readonly Lock _gate = new();
    private readonly SafeKafkaHandle _kafka;
    private readonly SafeMockClusterHandle _cluster;
    private readonly bool[] _brokerUp;
    private readonly SortedSet<string> _topics = new(StringComparer.Ordinal);
    private bool _disposed;

    private MockKafkaCluster(SafeKafkaHandle kafka, SafeMockClusterHandle cluster, int brokerCount, string bootstrapServers)
    {
        _kafka = kafka;
        _cluster = cluster;
        _brokerUp = Enumerable.Repeat(true, brokerCount).ToArray();
        BrokerCount = brokerCount;
        BootstrapServers = bootstrapServers;
    }

    /// <summary>The <c>bootstrap.servers</c> value for clients: every broker's <c>127.0.0.1:port</c>, comma-separated.</summary>
    public string BootstrapServers { get; }

    /// <summary>How many brokers the cluster has; their ids are 1 to <see cref="BrokerCount"/>.</summary>
    public int BrokerCount { get; }

    /// <summary>The version of the native librdkafka that hosts the mock, e.g. <c>2.16.0</c>.</summary>
    public static string LibrdkafkaVersion => Marshal.PtrToStringUTF8(LibrdkafkaNative.VersionString()) ?? "unknown";

    /// <summary>The native file librdkafka was loaded from (null before the first native call).</summary>
    public static string? LibrdkafkaPath => LibrdkafkaLoader.LoadedFrom;

    /// <summary>Topics created through <see cref="CreateTopic"/> (auto-created ones are not listed).</summary>
    public IReadOnlyList<string> CreatedTopics
    {
        get
        {
            lock (_gate)
            {
                return [.. _topics];
            }
        }
    }

    /// <summary>Starts a cluster whose brokers listen on free ports of 127.0.0.1.</summary>
    /// <param name="brokerCount">Number of brokers, 1 to <see cref="MaxBrokerCount"/>; broker 1 is the controller.</param>
    /// <exception cref="MockKafkaException">librdkafka could not create the cluster.</exception>
    /// <exception cref="DllNotFoundException">No loadable librdkafka was found.</exception>
    public static MockKafkaCluster Start(int brokerCount = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(brokerCount, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(brokerCount, MaxBrokerCount);

        var kafka = CreateKafkaHandle();
        SafeMockClusterHandle? cluster = null;
        try
        {
            cluster = SafeMockClusterHandle.Create(kafka, brokerCount)
                ?? throw new MockKafkaException(
                    $"rd_kafka_mock_cluster_new failed to create {brokerCount} broker(s); librdkafka logged the reason to stderr.");
            var bootstraps = Marshal.PtrToStringUTF8(LibrdkafkaNative.MockClusterBootstraps(cluster));
            if (string.IsNullOrEmpty(bootstraps))
            {
                throw new MockKafkaException("rd_kafka_mock_cluster_bootstraps returned no address.");
            }

            // The mock reports controller id 0 (no such broker) unless told otherwise; admin clients want a real one.
            LibrdkafkaNative.MockSetControllerId(cluster, 1);
            return new MockKafkaCluster(kafka, cluster, brokerCount, bootstraps);
        }
        catch
        {
            cluster?.Dispose();
            kafka.Dispose();
            throw;
        }
    }

    /// <summary>Creates a topic; the only way to choose a partition count, since the mock has no CreateTopics API.</summary>
    /// <param name="name">A valid Kafka topic name.</param>
    /// <param name="partitions">1 to <see cref="MaxPartitions"/>.</param>
    /// <param name="replicationFactor">Replicas per partition; defaults to min(3, <see cref="BrokerCount"/>).</param>
    /// <exception cref="MockKafkaException">With <see cref="ErrorCode.TopicAlreadyExists"/> when the topic exists
    /// (also when a client has already auto-created it).</exception>
    public void CreateTopic(string name, int partitions, int? replicationFactor = null)
    {
        if (!KafkaTopicName.IsValid(name, out var problem))
        {
            throw new ArgumentException(problem, nameof(name));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(partitions, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(partitions, MaxPartitions);
        var replicas = replicationFactor ?? Math.Min(3, BrokerCount);
        ArgumentOutOfRangeException.ThrowIfLessThan(replicas, 1, nameof(replicationFactor));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(replicas, BrokerCount, nameof(replicationFactor));

        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            Check(LibrdkafkaNative.MockTopicCreate(_cluster, name, partitions, replicas), $"Creating topic '{name}'");
            _topics.Add(name);
        }
    }

    /// <summary>Whether <paramref name="brokerId"/> names a broker of this cluster.</summary>
    public bool HasBroker(int brokerId) => brokerId >= 1 && brokerId <= BrokerCount;

    /// <summary>The up/down state of every broker, by id.</summary>
    public IReadOnlyList<MockBrokerState> GetBrokerStates()
    {
        lock (_gate)
        {
            return [.. _brokerUp.Select((up, index) => new MockBrokerState(index + 1, up))];
        }
    }

    /// <summary>
    /// Takes a broker down: its client connections are closed and new ones are refused (the port stays reserved),
    /// as when a Kafka broker process dies. Partitions it leads become unavailable; the mock does not move leaders.
    /// Taking a broker that is already down is a no-op.
    /// </summary>
    public void SetBrokerDown(int brokerId) => SetBrokerState(brokerId, up: false);

    /// <summary>Brings a broker back on the same port; clients reconnect on their own reconnect back-off.</summary>
    public void SetBrokerUp(int brokerId) => SetBrokerState(brokerId, up: true);

    /// <summary>Delays every response of a broker by <paramref name="roundTripTime"/> (zero removes the delay).</summary>
    public void SetBrokerRoundTripTime(int brokerId, TimeSpan roundTripTime)
    {
        ThrowIfUnknownBroker(brokerId);
        ArgumentOutOfRangeException.ThrowIfLessThan(roundTripTime, TimeSpan.Zero);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            Check(
                LibrdkafkaNative.MockBrokerSetRtt(_cluster, brokerId, checked((int)roundTripTime.TotalMilliseconds)),
                $"Setting the round-trip time of broker {brokerId}");
        }
    }

    /// <summary>
    /// Makes the next <c>errors.Length</c> requests of type <paramref name="apiKey"/>, to any broker, fail with
    /// these errors, one each, in order (<see cref="ErrorCode.NoError"/> lets one request through).
    /// </summary>
    /// <exception cref="ArgumentException">An error is a client-local code (negative), which no broker can return.</exception>
    public void PushRequestErrors(KafkaApiKey apiKey, params ReadOnlySpan<ErrorCode> errors)
    {
        if (errors.IsEmpty)
        {
            return;
        }

        var codes = new int[errors.Length];
        for (var i = 0; i < errors.Length; i++)
        {
            if ((int)errors[i] < 0)
            {
                throw new ArgumentException(
                    $"{errors[i]} is a client-local error code; only broker error codes (0 and above) can be injected.",
                    nameof(errors));
            }

            codes[i] = (int)errors[i];
        }

        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            unsafe
            {
                fixed (int* first = codes)
                {
                    LibrdkafkaNative.MockPushRequestErrorsArray(_cluster, (short)apiKey, (nuint)codes.Length, first);
                }
            }
        }
    }

    /// <summary>Drops errors pushed with <see cref="PushRequestErrors"/> for <paramref name="apiKey"/> that are still pending.</summary>
    public void ClearRequestErrors(KafkaApiKey apiKey)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            LibrdkafkaNative.MockClearRequestErrors(_cluster, (short)apiKey);
        }
    }

    /// <summary>Moves the leadership of one partition to <paramref name="brokerId"/>; clients learn it from metadata.</summary>
    public void SetPartitionLeader(string topic, int partition, int brokerId)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        ThrowIfUnknownBroker(brokerId);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            Check(
                LibrdkafkaNative.MockPartitionSetLeader(_cluster, topic, partition, brokerId),
                $"Moving the leader of {topic} [{partition}] to broker {brokerId}");
        }
    }

    /// <summary>
    /// How long a new consumer group waits for more members before its first rebalance (Kafka's
    /// <c>group.initial.rebalance.delay.ms</c>; the mock's default is 3 s). Applies to groups created afterwards.
    /// </summary>
    public void SetGroupInitialRebalanceDelay(TimeSpan delay)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(delay, TimeSpan.Zero);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            LibrdkafkaNative.MockGroupInitialRebalanceDelayMs(_cluster, checked((int)delay.TotalMilliseconds));
        }
    }

    /// <summary>Closes every listener and connection and frees the data; clients see all brokers go away.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _cluster.Dispose();
            _kafka.Dispose();
        }
    }

    private void SetBrokerState(int brokerId, bool up)
    {
        ThrowIfUnknownBroker(brokerId);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var err = up
                ? LibrdkafkaNative.MockBrokerSetUp(_cluster, brokerId)
                : LibrdkafkaNative.MockBrokerSetDown(_cluster, brokerId);
            Check(err, $"Setting broker {brokerId} {(up ? "up" : "down")}");
            _brokerUp[brokerId - 1] = up;
        }
    }

    private void ThrowIfUnknownBroker(int brokerId)
    {
        if (!HasBroker(brokerId))
        {
            throw new ArgumentOutOfRangeException(
                nameof(brokerId), brokerId, $"The cluster's brokers are numbered 1 to {BrokerCount}.");
        }
    }

    private static unsafe SafeKafkaHandle CreateKafkaHandle()
    {
        var conf = LibrdkafkaNative.ConfNew();
        if (conf == 0)
        {
            throw new MockKafkaException("rd_kafka_conf_new returned no configuration.");
        }

        var errstr = stackalloc byte[ErrorBufferSize];
        try
        {
            SetConf(conf, "client.id", "analytics-localbroker", errstr);

            // This handle never connects anywhere, so its "no bootstrap.servers" notice is noise; warnings and
            // errors (the mock's own problems) still reach stderr.
            SetConf(conf, "log_level", "4", errstr);
        }
        catch
        {
            LibrdkafkaNative.ConfDestroy(conf);
            throw;
        }

        // rd_kafka_new owns the configuration only when it succeeds.
        var kafka = LibrdkafkaNative.New(LibrdkafkaNative.ProducerType, conf, errstr, ErrorBufferSize);
        if (kafka == 0)
        {
            LibrdkafkaNative.ConfDestroy(conf);
            throw new MockKafkaException($"rd_kafka_new failed: {Marshal.PtrToStringUTF8((nint)errstr)}");
        }

        return new SafeKafkaHandle(kafka);
    }

    private static unsafe void SetConf(nint conf, string name, string value, byte* errstr)
    {
        if (LibrdkafkaNative.ConfSet(conf, name, value, errstr, ErrorBufferSize) != LibrdkafkaNative.ConfOk)
        {
            throw new MockKafkaException($"rd_kafka_conf_set({name}) failed: {Marshal.PtrToStringUTF8((nint)errstr)}");
        }
    }

    private static void Check(int err, string operation)
    {
        if (err != 0)
        {
            var reason = Marshal.PtrToStringUTF8(LibrdkafkaNative.ErrorToString(err)) ?? "unknown error";
            throw new MockKafkaException($"{operation} failed: {reason} ({(ErrorCode)err}).", (ErrorCode)err);
        }
    }
}
