using System.Numerics;

namespace Analytics.Benchmarking;

/// <summary>
/// Latencies in microseconds, counted in log-linear buckets the way an HDR histogram does: exact below 256 µs, then
/// 128 buckets per power of two (each within 0.8 % of its value) up to hours. Recording is an increment in a fixed
/// array: no allocation, no lock (one histogram per load loop, merged at the end).
/// </summary>
public sealed class LatencyHistogram
{
    /// <summary>Values below 2^<see cref="PrecisionBits"/> have a bucket each.</summary>
    private const int PrecisionBits = 8;
    private const int HalfBuckets = 1 << (PrecisionBits - 1);
    private const int LinearBuckets = 1 << PrecisionBits;

    // Up to 2^42 µs (~50 days), far above any request timeout.
    private const int MaxExponent = 42;

    private readonly long[] _counts = new long[LinearBuckets + ((MaxExponent - PrecisionBits + 1) * HalfBuckets)];

    private long _sum;

    public long Count { get; private set; }

    public long MinMicroseconds { get; private set; } = long.MaxValue;

    public long MaxMicroseconds { get; private set; }

    public double MeanMicroseconds => Count == 0 ? 0 : _sum / (double)Count;

    public void Record(long microseconds)
    {
        microseconds = Math.Clamp(microseconds, 0, (1L << MaxExponent) - 1);
        _counts[Index(microseconds)]++;
        Count++;
        _sum += microseconds;
        if (microseconds < MinMicroseconds) MinMicroseconds = microseconds;
        if (microseconds > MaxMicroseconds) MaxMicroseconds = microseconds;
    }

    /// <summary>Adds <paramref name="other"/>'s counts to this one's.</summary>
    public void Add(LatencyHistogram other)
    {
        ArgumentNullException.ThrowIfNull(other);
        for (var i = 0; i < _counts.Length; i++) _counts[i] += other._counts[i];
        Count += other.Count;
        _sum += other._sum;
        MinMicroseconds = Math.Min(MinMicroseconds, other.MinMicroseconds);
        MaxMicroseconds = Math.Max(MaxMicroseconds, other.MaxMicroseconds);
    }

    /// <summary>
    /// The latency that <paramref name="quantile"/> (0–1) of the requests stayed at or below: the highest value of the
    /// bucket that holds that rank (never above the largest recorded), as HDR histograms report it.
    /// </summary>
    public long ValueAtQuantile(double quantile)
    {
        if (Count == 0) return 0;
        var rank = Math.Max(1, (long)Math.Ceiling(Math.Clamp(quantile, 0, 1) * Count));
        var seen = 0L;
        for (var i = 0; i < _counts.Length; i++)
        {
            seen += _counts[i];
            if (seen >= rank) return Math.Min(HighestInBucket(i), MaxMicroseconds);
        }

        return MaxMicroseconds;
    }

    private static int Index(long value)
    {
        if (value < LinearBuckets) return (int)value;
        var shift = 63 - BitOperations.LeadingZeroCount((ulong)value) - (PrecisionBits - 1);
        // value >> shift lies in [HalfBuckets, 2 × HalfBuckets): the top PrecisionBits bits of the value.
        return (shift * HalfBuckets) + (int)(value >> shift);
    }

    private static long HighestInBucket(int index)
    {
        if (index < LinearBuckets) return index;
        var shift = (index / HalfBuckets) - 1;
        var top = index - (shift * HalfBuckets);
        return ((long)(top + 1) << shift) - 1;
    }
}
