namespace Analytics.Grains.Funnel;

/// <summary>Settings of the funnel windows and the watermark (section <c>Funnel</c>).</summary>
public sealed class FunnelOptions
{
    public const string SectionName = "Funnel";

    /// <summary>Size of the tumbling event-time windows, aligned to the Unix epoch. It must divide a day.</summary>
    public TimeSpan WindowSize { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How far the watermark stays behind the slowest active partition's highest event time.</summary>
    public TimeSpan AllowedLateness { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>A partition that received nothing for this long (processing time) stops holding the watermark back.</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// A session that had no event for this long is over. A window's ordered funnel counts the steps its sessions
    /// reach before the window's end plus this timeout, and is final once the watermark passes that point.
    /// </summary>
    public TimeSpan SessionTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>
    /// How often an open window's reminder checks the watermark. Windows are finalised at once when the watermark
    /// moves; this is the guarantee when that notice is lost (a restart). Orleans reminders fire at most once a minute
    /// unless the silo lowers its minimum (tests do).
    /// </summary>
    public TimeSpan FinalisationCheckPeriod { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// A window publishes its changes (funnel_summary, live consumers) at most this often. Every stage that coalesces
    /// changes on their way to a dashboard adds up to its interval to how far the dashboard trails the events.
    /// </summary>
    public TimeSpan PublishInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// An open window's ordered funnel (which walks and sorts all its sessions) is computed again for its snapshots at
    /// most this often; its counts are always current. Reads and finalisations always compute it.
    /// </summary>
    public TimeSpan OrderedRefreshInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long a silo's sender to a window waits before each call, gathering what more user grains hand it. Without
    /// it a call left as soon as the previous one came back, with the two or three events that came meanwhile: half as
    /// many window calls as events at 10,000 events/s. Every event waits this long once more on its way to the window.
    /// Zero sends at once.
    /// </summary>
    public TimeSpan ContributionLinger { get; set; } = TimeSpan.FromMilliseconds(5);

    /// <summary>Most contributions sent to one window in one call.</summary>
    public int ContributionBatchSize { get; set; } = 5_000;

    /// <summary>How often each silo reports the highest event times of what it stored to the watermark.</summary>
    public TimeSpan ReportInterval { get; set; } = TimeSpan.FromMilliseconds(200);
}
