namespace Analytics.PipelineBenchmark.Throughput;

/// <summary>A process whose CPU time a step measures, and what it is.</summary>
internal sealed record MeasuredProcess(int Pid, string Name);

/// <summary>What a pipeline has stored so far, from its cheap counters (read every second while a step produces).</summary>
/// <param name="Stored">Events it stored since it started.</param>
/// <param name="Lost">Messages it will never read because the broker no longer had them (the silo's missed offsets).</param>
internal readonly record struct StoredSample(long Stored, long Lost);

/// <summary>One of the two pipelines a throughput run searches: where it reads, what it has stored, and what reflects the events.</summary>
internal interface IPipelineUnderTest : IAsyncDisposable
{
    /// <summary><c>orleans</c> or <c>bare</c>.</summary>
    string Name { get; }

    /// <summary>The topic it reads.</summary>
    string Topic { get; }

    /// <summary>The processes that do its work (their CPU time is its cost), the broker included.</summary>
    IReadOnlyList<MeasuredProcess> Processes { get; }

    /// <summary>What each value of <see cref="ReflectedAsync"/> is, e.g. <c>funnel_summary</c>.</summary>
    IReadOnlyList<string> ReflectedNames { get; }

    /// <summary>Its stored count: cheap, for the lag.</summary>
    Task<StoredSample> StoredAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Every place that must reflect each event, as totals in the order of <see cref="ReflectedNames"/>: each grows by
    /// exactly one per event once the pipeline has caught up.
    /// </summary>
    Task<IReadOnlyList<long>> ReflectedAsync(CancellationToken cancellationToken);
}
