using System.Runtime.InteropServices;

namespace Analytics.LocalBroker.Native;

/// <summary>Owns an <c>rd_kafka_t*</c>; releasing it calls <c>rd_kafka_destroy</c>.</summary>
internal sealed class SafeKafkaHandle : SafeHandle
{
    public SafeKafkaHandle(nint handle)
        : base(invalidHandleValue: 0, ownsHandle: true) => SetHandle(handle);

    public override bool IsInvalid => handle == 0;

    protected override bool ReleaseHandle()
    {
        LibrdkafkaNative.Destroy(handle);
        return true;
    }
}

/// <summary>
/// Owns an <c>rd_kafka_mock_cluster_t*</c>. The cluster runs inside the <c>rd_kafka_t</c> it was created with, so
/// this handle holds a reference on that <see cref="SafeKafkaHandle"/>: the instance is destroyed only after the
/// cluster, whatever order the two are disposed or finalised in.
/// </summary>
internal sealed class SafeMockClusterHandle : SafeHandle
{
    private readonly SafeKafkaHandle _owner;

    private SafeMockClusterHandle(SafeKafkaHandle owner)
        : base(invalidHandleValue: 0, ownsHandle: true) => _owner = owner;

    public override bool IsInvalid => handle == 0;

    /// <summary>Creates a cluster of <paramref name="brokerCount"/> brokers inside <paramref name="owner"/>.</summary>
    /// <returns>The handle, or <see langword="null"/> when librdkafka could not create the cluster.</returns>
    public static SafeMockClusterHandle? Create(SafeKafkaHandle owner, int brokerCount)
    {
        var result = new SafeMockClusterHandle(owner);
        var addedRef = false;
        nint cluster = 0;
        try
        {
            owner.DangerousAddRef(ref addedRef);
            cluster = LibrdkafkaNative.MockClusterNew(owner, brokerCount);
        }
        finally
        {
            if (cluster == 0)
            {
                // No cluster (librdkafka refused, or the call threw): ReleaseHandle will never run, so the reference
                // taken on the owner is returned here, or the instance could never be destroyed.
                if (addedRef) owner.DangerousRelease();
                result.SetHandleAsInvalid();
            }
            else
            {
                // From here the reference belongs to the cluster handle and ReleaseHandle returns it.
                result.SetHandle(cluster);
            }
        }

        return cluster == 0 ? null : result;
    }

    protected override bool ReleaseHandle()
    {
        // Closes the listeners and client connections and joins the cluster's thread.
        LibrdkafkaNative.MockClusterDestroy(handle);
        _owner.DangerousRelease();
        return true;
    }
}
