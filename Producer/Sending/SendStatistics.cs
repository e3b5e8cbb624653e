namespace Analytics.Producer.Sending;

/// <summary>
/// Counters of one run. Written by the sending loop (message counts) and by the Kafka delivery thread (outcomes);
/// read by the progress reporter on its own thread, hence the volatile/interlocked access.
/// </summary>
public sealed class SendStatistics
{
    private readonly long[] _byKind = new long[Enum.GetValues<MessageKind>().Length];
    private long _sent;
    private long _delivered;
    private long _failed;
    private long _clockMs = -1;
    private string? _firstError;

    public long Sent => Volatile.Read(ref _sent);

    public long Delivered => Interlocked.Read(ref _delivered);

    public long Failed => Interlocked.Read(ref _failed);

    /// <summary>Simulated clock of the last message sent; -1 when unknown.</summary>
    public long ClockMs => Volatile.Read(ref _clockMs);

    /// <summary>The first delivery error, for the summary.</summary>
    public string? FirstError => Volatile.Read(ref _firstError);

    public long Count(MessageKind kind) => Volatile.Read(ref _byKind[(int)kind]);

    /// <summary>Called by the sending loop (single thread) for each message handed to the sink.</summary>
    public void OnSent(in OutgoingMessage message)
    {
        Volatile.Write(ref _byKind[(int)message.Kind], _byKind[(int)message.Kind] + 1);
        Volatile.Write(ref _sent, _sent + 1);
        if (message.ClockMs >= 0) Volatile.Write(ref _clockMs, message.ClockMs);
    }

    public void OnDelivered() => Interlocked.Increment(ref _delivered);

    public void OnDelivered(long count) => Interlocked.Add(ref _delivered, count);

    public void OnFailed(string error)
    {
        // The error first: whoever sees the count go up also finds a first error to report.
        Interlocked.CompareExchange(ref _firstError, error, null);
        Interlocked.Increment(ref _failed);
    }
}
