using System.Runtime.InteropServices;

namespace Analytics.LocalBroker.Native;

/// <summary>
/// P/Invoke declarations for the parts of librdkafka's C API that host a mock cluster
/// (<c>rdkafka.h</c> and <c>rdkafka_mock.h</c>). Signatures follow librdkafka 2.16.
/// </summary>
/// <remarks>
/// The variadic <c>rd_kafka_mock_push_request_errors(mcluster, ApiKey, cnt, ...)</c> cannot be called portably
/// through P/Invoke, so its array twin <c>rd_kafka_mock_push_request_errors_array</c> is bound instead: it is
/// what the variadic one calls after collecting its arguments.
/// </remarks>
internal static partial class LibrdkafkaNative
{
    /// <summary>The name every import below uses; <see cref="LibrdkafkaLoader"/> maps it to a file.</summary>
    internal const string LibraryName = "librdkafka";

    /// <summary><c>RD_KAFKA_PRODUCER</c> from <c>rd_kafka_type_t</c>.</summary>
    internal const int ProducerType = 0;

    /// <summary><c>RD_KAFKA_CONF_OK</c> from <c>rd_kafka_conf_res_t</c>.</summary>
    internal const int ConfOk = 0;

    // An explicit static constructor makes the runtime run it before the first call of any method below, so
    // the resolver is in place before the first library load is attempted.
    static LibrdkafkaNative() => LibrdkafkaLoader.EnsureRegistered();

    [LibraryImport(LibraryName, EntryPoint = "rd_kafka_version_str")]
    internal static partial nint VersionString();

    [LibraryImport(LibraryName, EntryPoint = "rd_kafka_err2str")]
    internal static partial nint ErrorToString(int err);

    [LibraryImport(LibraryName, EntryPoint = "rd_kafka_conf_new")]
    internal static partial nint ConfNew();

    [LibraryImport(LibraryName, EntryPoint = "rd_kafka_conf_destroy")]
    internal static partial void ConfDestroy(nint conf);

    [LibraryImport(LibraryName, EntryPoint = "rd_kafka_conf_set", StringMarshalling = StringMarshalling.Utf8)]
    internal static unsafe partial int ConfSet(nint conf, string name, string value, byte* errstr, nuint errstrSize);

    /// <summary>Takes ownership of <paramref name="conf"/> on success only.</summary>
    [LibraryImport(LibraryName, EntryPoint = "rd_kafka_new")]
    internal static unsafe partial nint New(int type, nint conf, byte* errstr, nuint errstrSize);

    [LibraryImport(LibraryName, EntryPoint = "rd_kafka_destroy")]
    internal static partial void Destroy(nint rk);

    [LibraryImport(LibraryName, EntryPoint = "rd_kafka_mock_cluster_new")]
    internal static partial nint MockClusterNew(SafeKafkaHandle rk, int brokerCount);

    [LibraryImport(LibraryName, EntryPoint = "rd_kafka_mock_cluster_destroy")]
    internal static partial void MockClusterDestroy(nint mcluster);

    /// <summary>Returns a string owned by the cluster: never free it.</summary>
    [LibraryImport(LibraryName, EntryPoint = "rd_kafka_mock_cluster_bootstraps")]
    internal static partial nint MockClusterBootstraps(SafeMockClusterHandle mcluster);

    [LibraryImport(LibraryName, EntryPoint = "rd_kafka_mock_topic_create", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int MockTopicCreate(SafeMockClusterHandle mcluster, string topic, int partitionCount, int replicationFactor);

    [LibraryImport(LibraryName, EntryPoint = "rd_kafka_mock_broker_set_down")]
    internal static partial int MockBrokerSetDown(SafeMockClusterHandle mcluster, int brokerId);

    [LibraryImport(LibraryName, EntryPoint = "rd_kafka_mock_broker_set_up")]
    internal static partial int MockBrokerSetUp(SafeMockClusterHandle mcluster, int brokerId);

    [LibraryImport(LibraryName, EntryPoint = "rd_kafka_mock_broker_set_rtt")]
    internal static partial int MockBrokerSetRtt(SafeMockClusterHandle mcluster, int brokerId, int rttMs);

    [LibraryImport(LibraryName, EntryPoint = "rd_kafka_mock_push_request_errors_array")]
    internal static unsafe partial void MockPushRequestErrorsArray(SafeMockClusterHandle mcluster, short apiKey, nuint count, int* errors);

    [LibraryImport(LibraryName, EntryPoint = "rd_kafka_mock_clear_request_errors")]
    internal static partial void MockClearRequestErrors(SafeMockClusterHandle mcluster, short apiKey);

    [LibraryImport(LibraryName, EntryPoint = "rd_kafka_mock_partition_set_leader", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int MockPartitionSetLeader(SafeMockClusterHandle mcluster, string topic, int partition, int brokerId);

    /// <summary>Present in 2.16 (not yet in rdkafka_mock.h of 2.15); takes the cluster lock and sets the id.</summary>
    [LibraryImport(LibraryName, EntryPoint = "rd_kafka_mock_set_controller_id")]
    internal static partial void MockSetControllerId(SafeMockClusterHandle mcluster, int controllerId);

    [LibraryImport(LibraryName, EntryPoint = "rd_kafka_mock_group_initial_rebalance_delay_ms")]
    internal static partial void MockGroupInitialRebalanceDelayMs(SafeMockClusterHandle mcluster, int delayMs);
}
