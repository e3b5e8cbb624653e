namespace Analytics.StreamingBenchmark.Measurement;

/// <summary>A count that many threads add to and a meter reads.</summary>
internal sealed class EventCounter
{
    private long _value;

    public long Value => Interlocked.Read(ref _value);

    public void Increment() => Interlocked.Increment(ref _value);

    public void Reset() => Interlocked.Exchange(ref _value, 0);
}
