namespace Analytics.Silo.Hosting;

/// <summary>
/// The newest value per key, published from any thread and taken as a whole by one flusher. Publishing and taking share
/// one lock: swapping a concurrent dictionary for an empty one instead loses a value published into the old one while
/// the flusher is reading it (found by the throughput benchmark: one user's churn_features row stayed one event short).
/// </summary>
internal sealed class LatestByKey<TKey, TValue>(Func<TValue, TValue, TValue> newer)
    where TKey : notnull
{
    private readonly Lock _gate = new();
    private Dictionary<TKey, TValue> _pending = [];

    /// <summary>How many keys are pending.</summary>
    public int Count
    {
        get
        {
            lock (_gate) return _pending.Count;
        }
    }

    /// <summary>Keeps <paramref name="value"/> unless the pending one for <paramref name="key"/> is newer.</summary>
    public void Publish(TKey key, TValue value)
    {
        lock (_gate)
        {
            _pending[key] = _pending.TryGetValue(key, out var current) ? newer(current, value) : value;
        }
    }

    /// <summary>Takes everything pending; later publishes go to the next take.</summary>
    public Dictionary<TKey, TValue> TakeAll()
    {
        lock (_gate)
        {
            var taken = _pending;
            _pending = [];
            return taken;
        }
    }
}
