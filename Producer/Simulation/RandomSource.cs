namespace Analytics.Producer.Simulation;

/// <summary>
/// A small, fast, seeded pseudo-random generator (xoshiro256**, seeded through SplitMix64). Unlike
/// <see cref="Random"/> its sequence is fixed by this code alone, so a seed means the same stream on every .NET version.
/// Not thread-safe: each user and each stage owns its own instance.
/// </summary>
public sealed class RandomSource
{
    private ulong _s0;
    private ulong _s1;
    private ulong _s2;
    private ulong _s3;

    /// <summary>A generator for one independent stream of a seed: the same (seed, stream) always gives the same sequence.</summary>
    public RandomSource(long seed, ulong stream = 0)
    {
        var x = unchecked((ulong)seed ^ (stream * 0xD1B54A32D192ED03UL));
        _s0 = SplitMix(ref x);
        _s1 = SplitMix(ref x);
        _s2 = SplitMix(ref x);
        _s3 = SplitMix(ref x);
    }

    public ulong NextUInt64()
    {
        var result = BitRotate(_s1 * 5, 7) * 9;
        var t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = BitRotate(_s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, 1).</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform integer in [0, maxExclusive) (multiply-shift; the bias is below 2^-32).</summary>
    public int NextInt(int maxExclusive) => (int)(((NextUInt64() >> 32) * (ulong)maxExclusive) >> 32);

    /// <summary>Uniform in [min, max).</summary>
    public double Uniform(double min, double max) => min + ((max - min) * NextDouble());

    /// <summary>True with probability <paramref name="probability"/>.</summary>
    public bool Chance(double probability) => probability > 0 && NextDouble() < probability;

    /// <summary>Exponentially distributed with the given mean.</summary>
    public double Exponential(double mean) => -mean * Math.Log(1.0 - NextDouble());

    /// <summary>Index drawn from unnormalised weights (linear scan; for short tables).</summary>
    public int Pick(ReadOnlySpan<double> weights)
    {
        var total = 0.0;
        foreach (var w in weights) total += w;
        var x = NextDouble() * total;
        for (var i = 0; i < weights.Length; i++)
        {
            x -= weights[i];
            if (x < 0) return i;
        }

        return weights.Length - 1;
    }

    private static ulong SplitMix(ref ulong x)
    {
        var z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    private static ulong BitRotate(ulong x, int k) => (x << k) | (x >> (64 - k));
}
