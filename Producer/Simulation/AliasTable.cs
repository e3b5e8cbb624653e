namespace Analytics.Producer.Simulation;

/// <summary>
/// Walker/Vose alias table: draws an index from a fixed discrete distribution in O(1). Product popularity is sampled
/// once per view, so this sits on the hot path.
/// </summary>
internal sealed class AliasTable
{
    private readonly double[] _probability;
    private readonly int[] _alias;

    public AliasTable(ReadOnlySpan<double> weights)
    {
        var n = weights.Length;
        if (n == 0) throw new ArgumentException("at least one weight is needed", nameof(weights));
        _probability = new double[n];
        _alias = new int[n];

        var total = 0.0;
        foreach (var w in weights) total += w;
        var scaled = new double[n];
        var small = new Stack<int>();
        var large = new Stack<int>();
        // Fill in reverse so that the stacks pop in index order: the table is then independent of stack internals.
        for (var i = n - 1; i >= 0; i--)
        {
            scaled[i] = weights[i] * n / total;
            (scaled[i] < 1.0 ? small : large).Push(i);
        }

        while (small.Count > 0 && large.Count > 0)
        {
            var s = small.Pop();
            var l = large.Pop();
            _probability[s] = scaled[s];
            _alias[s] = l;
            scaled[l] = scaled[l] + scaled[s] - 1.0;
            (scaled[l] < 1.0 ? small : large).Push(l);
        }

        while (large.Count > 0) _probability[large.Pop()] = 1.0;
        while (small.Count > 0) _probability[small.Pop()] = 1.0;
    }

    public int Count => _probability.Length;

    public int Sample(RandomSource random)
    {
        var i = random.NextInt(_probability.Length);
        return random.NextDouble() < _probability[i] ? i : _alias[i];
    }
}
