using Orleans.Internal;
using Orleans.Runtime.Providers;

namespace Analytics.Streaming.Kafka.Providers;

/// <summary>
/// Waits between delivery attempts of a failing event: 100 ms, doubling up to 2 s. Orleans' default (1 s to 30 s)
/// waits up to 30 s between attempts, slow to notice that a transient failure (a grain moving to another silo) is over.
/// </summary>
internal sealed class KafkaDeliveryBackoff : IMessageDeliveryBackoffProvider
{
    private static readonly TimeSpan First = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan Longest = TimeSpan.FromSeconds(2);

    public TimeSpan Next(int attempt)
    {
        var delay = First * Math.Pow(2, Math.Clamp(attempt, 0, 10));
        return delay < Longest ? delay : Longest;
    }
}
