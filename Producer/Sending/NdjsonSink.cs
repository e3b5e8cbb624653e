namespace Analytics.Producer.Sending;

/// <summary>Writes each payload as one line of a file (or of standard output): newline-delimited JSON.</summary>
public sealed class NdjsonSink : IMessageSink
{
    private const int BufferSize = 1 << 20;

    private readonly Stream _stream;
    private readonly SendStatistics _statistics;
    private readonly bool _ownsStream;

    public NdjsonSink(Stream stream, SendStatistics statistics, bool ownsStream = true)
    {
        _stream = new BufferedStream(stream, BufferSize);
        _statistics = statistics;
        _ownsStream = ownsStream;
    }

    /// <summary>Opens <paramref name="path"/> for writing (created or truncated); <c>-</c> means standard output.</summary>
    public static NdjsonSink Open(string path, SendStatistics statistics)
        => path == "-"
            ? new NdjsonSink(Console.OpenStandardOutput(), statistics, ownsStream: false)
            : new NdjsonSink(new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, 1, FileOptions.SequentialScan), statistics);

    public void Send(in OutgoingMessage message)
    {
        _stream.Write(message.Value.Span);
        _stream.WriteByte((byte)'\n');
        _statistics.OnDelivered();
    }

    public Task FlushAsync(CancellationToken cancellationToken) => _stream.FlushAsync(cancellationToken);

    public void Dispose()
    {
        _stream.Flush();
        if (_ownsStream) _stream.Dispose();
    }
}
