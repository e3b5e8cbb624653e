using System.Buffers;
using System.Text.Json;
using Analytics.Grains.Interfaces.Events;

namespace Analytics.Producer.Simulation;

/// <summary>
/// Writes simulated events in the contract's wire form without allocating per event. The parts fixed by the product
/// (<c>product_id</c>, <c>category</c>, <c>price</c>) and by the session (<c>user_id</c>, <c>session_id</c>,
/// <c>device</c>, <c>channel</c>) are encoded once by a <see cref="Utf8JsonWriter"/>, so escaping and number format are
/// the contract's; per event only the id, type and time are formatted. The contract's serializer stays the reference:
/// the first 64 events and every 1024th after are also written by <see cref="UserEventJson.Write"/> and compared, and
/// on any difference this writer uses the contract for the rest of the run (<see cref="FallbackReason"/> says why).
/// </summary>
public sealed class EventWriter
{
    private static readonly byte[][] TypeFragments =
    [
        ",\"event_type\":\"view\","u8.ToArray(),
        ",\"event_type\":\"add_to_cart\","u8.ToArray(),
        ",\"event_type\":\"purchase\","u8.ToArray(),
    ];

    private readonly ShopSimulator _simulator;
    private readonly byte[][] _products;
    private readonly ArrayBufferWriter<byte> _buffer = new(1024);
    private readonly ArrayBufferWriter<byte> _reference = new(1024);
    private readonly ArrayBufferWriter<byte> _scratch = new(256);
    private readonly Utf8JsonWriter _json;
    private long _written;

    public EventWriter(ShopSimulator simulator)
    {
        _simulator = simulator;
        _json = new Utf8JsonWriter(_scratch);
        _products = simulator.Catalogue.Products.Select(p => Fragment(w =>
        {
            w.WriteString("product_id", p.Id);
            w.WriteString("category", p.Category.Name);
            w.WriteNumber("price", p.Price);
        })).ToArray();
    }

    /// <summary>Why the fast path was abandoned for the contract's serializer; null while it agrees.</summary>
    public string? FallbackReason { get; private set; }

    /// <summary>The event's wire form; valid until the next call.</summary>
    public ReadOnlyMemory<byte> Serialize(in SimulatedEvent e)
    {
        _buffer.ResetWrittenCount();
        if (FallbackReason is null)
        {
            WriteFast(e, _buffer);
            if (_written++ >= 64 && (_written & 1023) != 0) return _buffer.WrittenMemory;
            _reference.ResetWrittenCount();
            _simulator.WriteWithContract(e, _reference);
            if (_reference.WrittenSpan.SequenceEqual(_buffer.WrittenSpan)) return _buffer.WrittenMemory;
            FallbackReason = $"fast event writer disagrees with UserEventJson.Write for event {e.EventId}; using the contract's serializer";
            _buffer.ResetWrittenCount();
        }

        _simulator.WriteWithContract(e, _buffer);
        return _buffer.WrittenMemory;
    }

    private void WriteFast(in SimulatedEvent e, ArrayBufferWriter<byte> output)
    {
        var session = e.Session;
        if (session.JsonIds is null || session.JsonTail is null) EncodeSession(e.UserIndex, session);
        var ids = session.JsonIds!;
        var tail = session.JsonTail!;
        var type = TypeFragments[(int)e.Type];
        var product = _products[e.ProductIndex];

        var span = output.GetSpan(128 + ids.Length + type.Length + product.Length + tail.Length);
        var n = Append(span, 0, "{\"event_id\":\""u8);
        e.EventId.TryFormat(span[n..], out var guidLength, "D");
        n += guidLength;
        n = Append(span, n, "\","u8);
        n = Append(span, n, ids);
        n = Append(span, n, type);
        n = Append(span, n, product);
        n = Append(span, n, ",\"event_time\":\""u8);
        n += WriteTime(span[n..], e.TimeMs);
        span[n++] = (byte)'"';
        n = Append(span, n, tail);
        output.Advance(n);
    }

    private void EncodeSession(int userIndex, SimulatedSession session)
    {
        session.JsonIds = Fragment(w =>
        {
            w.WriteString("user_id", _simulator.UserId(userIndex));
            w.WriteString("session_id", session.Id);
        });
        var tail = Fragment(w =>
        {
            w.WriteString("device", Persona.Devices[(int)session.Device]);
            w.WriteString("channel", Persona.Channels[session.Channel]);
        });
        session.JsonTail = [(byte)',', .. tail, (byte)'}'];
    }

    /// <summary>The properties written by <paramref name="write"/>, as they appear inside an object (no braces).</summary>
    private byte[] Fragment(Action<Utf8JsonWriter> write)
    {
        _scratch.ResetWrittenCount();
        _json.Reset(_scratch);
        _json.WriteStartObject();
        write(_json);
        _json.WriteEndObject();
        _json.Flush();
        return _scratch.WrittenSpan[1..^1].ToArray();
    }

    private static int Append(Span<byte> span, int at, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(span[at..]);
        return at + bytes.Length;
    }

    /// <summary><c>yyyy-MM-ddTHH:mm:ss.fffZ</c>, as the contract writes event times (always 24 bytes).</summary>
    private static int WriteTime(Span<byte> span, long unixMs)
    {
        var time = DateTime.UnixEpoch.AddTicks(unixMs * TimeSpan.TicksPerMillisecond);
        var (year, month, day) = time;
        Digits(span[..4], year);
        span[4] = (byte)'-';
        Digits(span.Slice(5, 2), month);
        span[7] = (byte)'-';
        Digits(span.Slice(8, 2), day);
        span[10] = (byte)'T';
        Digits(span.Slice(11, 2), time.Hour);
        span[13] = (byte)':';
        Digits(span.Slice(14, 2), time.Minute);
        span[16] = (byte)':';
        Digits(span.Slice(17, 2), time.Second);
        span[19] = (byte)'.';
        Digits(span.Slice(20, 3), time.Millisecond);
        span[23] = (byte)'Z';
        return 24;
    }

    private static void Digits(Span<byte> span, int value)
    {
        for (var i = span.Length - 1; i >= 0; i--)
        {
            span[i] = (byte)('0' + (value % 10));
            value /= 10;
        }
    }
}
