namespace Analytics.Producer.Sending;

/// <summary>
/// Replays a recorded NDJSON file line by line, bytes unchanged (the line terminator, <c>\n</c> or <c>\r\n</c>, is not
/// part of the message; empty lines are skipped). Keys come from <see cref="MessageKeys.FromPayload"/>.
/// </summary>
public sealed class FileReplaySource : IMessageSource, IDisposable
{
    private readonly Stream _stream;
    private readonly long _maxLines;
    private byte[] _buffer = new byte[1 << 20];
    private int _start;
    private int _end;
    private bool _endOfFile;
    private bool _stopped;
    private long _lines;

    public FileReplaySource(Stream stream, long? maxLines = null)
    {
        _stream = stream;
        _maxLines = maxLines ?? long.MaxValue;
    }

    public static FileReplaySource Open(string path, long? maxLines = null)
        => new(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan), maxLines);

    public bool TryNext(out OutgoingMessage message)
    {
        while (!_stopped && _lines < _maxLines)
        {
            var available = _buffer.AsSpan(_start, _end - _start);
            var newline = available.IndexOf((byte)'\n');
            ReadOnlyMemory<byte> line;
            if (newline >= 0)
            {
                line = _buffer.AsMemory(_start, newline);
                _start += newline + 1;
            }
            else if (!_endOfFile)
            {
                Refill();
                continue;
            }
            else if (available.Length > 0)
            {
                line = _buffer.AsMemory(_start, available.Length);
                _start = _end;
            }
            else
            {
                break;
            }

            if (line.Span is [.., (byte)'\r']) line = line[..^1];
            if (line.IsEmpty) continue;
            _lines++;
            message = new OutgoingMessage(MessageKind.Replayed, MessageKeys.FromPayload(line.Span), line, -1, -1);
            return true;
        }

        message = default;
        return false;
    }

    public void Stop() => _stopped = true;

    public void Dispose() => _stream.Dispose();

    private void Refill()
    {
        // Keep the unfinished line, at the start of a buffer large enough for it.
        var pending = _end - _start;
        if (pending == _buffer.Length) Array.Resize(ref _buffer, _buffer.Length * 2);
        Buffer.BlockCopy(_buffer, _start, _buffer, 0, pending);
        _start = 0;
        _end = pending;
        var read = _stream.Read(_buffer, _end, _buffer.Length - _end);
        if (read == 0) _endOfFile = true;
        else _end += read;
    }
}
