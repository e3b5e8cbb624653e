namespace Analytics.Producer.Sending;

/// <summary>Where messages go: Kafka or an NDJSON file.</summary>
public interface IMessageSink : IDisposable
{
    /// <summary>Hands one message over without waiting for its delivery. The value may be reused after the call.</summary>
    void Send(in OutgoingMessage message);

    /// <summary>Waits until every message handed over is delivered or has failed.</summary>
    Task FlushAsync(CancellationToken cancellationToken);
}
