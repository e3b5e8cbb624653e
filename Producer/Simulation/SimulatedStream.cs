using System.Buffers;
using Analytics.Producer.Sending;

namespace Analytics.Producer.Simulation;

/// <summary>
/// Turns the simulator's ordered valid events into the stream as sent: some events held back (late), some sent twice
/// (duplicates), some malformed payloads slipped in. Its own random stream decides, so the valid events are the same
/// whatever the imperfection fractions.
/// </summary>
public sealed class SimulatedStream : IMessageSource
{
    private const long Second = 1000;
    private const long Minute = 60 * Second;

    private readonly ShopSimulator _simulator;
    private readonly ImperfectionSettings _imperfections;
    private readonly RandomSource _random;
    private readonly Queue<Pending> _ready = new();
    private readonly PriorityQueue<Pending, (long Release, long Sequence)> _held = new();
    private readonly ArrayBufferWriter<byte> _buffer = new(1024);
    private readonly EventWriter _writer;
    private long _sequence;
    private long _clockMs;
    private bool _generating = true;

    public SimulatedStream(ShopSimulator simulator, ImperfectionSettings imperfections)
    {
        _simulator = simulator;
        _imperfections = imperfections;
        _random = new RandomSource(simulator.Settings.Seed, 2);
        _clockMs = simulator.ClockMs;
        _writer = new EventWriter(simulator);
    }

    public ShopSimulator Simulator => _simulator;

    /// <summary>Set when the fast event writer disagreed with the contract and was replaced by it (a warning to show).</summary>
    public string? SerializerWarning => _writer.FallbackReason;

    /// <summary>Messages held back (late events and duplicates not yet due).</summary>
    public int HeldBack => _held.Count;

    public bool TryNext(out OutgoingMessage message)
    {
        while (_ready.Count == 0)
        {
            if (_generating && _simulator.TryNext(out var e))
            {
                Release(upToMs: e.TimeMs);
                if (_random.Chance(_imperfections.MalformedFraction))
                    _ready.Enqueue(new Pending(MessageKind.Malformed, e, e.TimeMs));
                if (_random.Chance(_imperfections.LateFraction))
                    Hold(new Pending(MessageKind.Late, e, 0), e.TimeMs + (long)_random.Uniform(3 * Minute, 60 * Minute));
                else
                    _ready.Enqueue(new Pending(MessageKind.Valid, e, e.TimeMs));
                continue;
            }

            _generating = false;
            if (!_held.TryDequeue(out var held, out _))
            {
                message = default;
                return false;
            }

            // Draining at the end: due now, whatever its planned release.
            _ready.Enqueue(held with { ClockMs = _clockMs });
        }

        var next = _ready.Dequeue();
        var ev = next.Event;
        _clockMs = Math.Max(_clockMs, next.ClockMs);
        byte[]? key;
        ReadOnlyMemory<byte> value;
        if (next.Kind == MessageKind.Malformed)
        {
            var source = _simulator.ToUserEvent(ev) with { EventId = UuidV7.Create(ev.TimeMs, _random) };
            _buffer.ResetWrittenCount();
            MalformedPayloads.Write(MalformedPayloads.PickKind(_random), source, _random, _buffer);
            value = _buffer.WrittenMemory;
            key = MessageKeys.FromPayload(value.Span);
        }
        else
        {
            value = _writer.Serialize(ev);
            key = _simulator.UserKey(ev.UserIndex);
            if (next.Kind != MessageKind.Duplicate && _random.Chance(_imperfections.DuplicateFraction))
                Hold(new Pending(MessageKind.Duplicate, ev, 0), _clockMs + (long)_random.Uniform(1 * Second, 5 * Minute));
        }

        message = new OutgoingMessage(next.Kind, key, value, _clockMs, ev.TimeMs);
        return true;
    }

    public void Stop()
    {
        _generating = false;
        _simulator.Stop();
    }

    private void Hold(Pending pending, long releaseMs) => _held.Enqueue(pending, (releaseMs, _sequence++));

    private void Release(long upToMs)
    {
        while (_held.TryPeek(out var held, out var at) && at.Release <= upToMs)
        {
            _held.Dequeue();
            _ready.Enqueue(held with { ClockMs = at.Release });
        }
    }

    private readonly record struct Pending(MessageKind Kind, SimulatedEvent Event, long ClockMs);
}
