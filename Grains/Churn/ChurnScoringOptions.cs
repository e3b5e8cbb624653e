namespace Analytics.Grains.Churn;

/// <summary>Settings of the periodic churn scoring (section <c>ChurnScoring</c>).</summary>
public sealed class ChurnScoringOptions
{
    public const string SectionName = "ChurnScoring";

    /// <summary>A pass over the active users this often (a reminder: at least a minute).</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Users with an event within this span before the pass are active and scored.</summary>
    public TimeSpan ActiveWithin { get; set; } = TimeSpan.FromDays(30);

    /// <summary>Users asked for their features at once.</summary>
    public int Concurrency { get; set; } = 256;

    /// <summary>A user's prediction is written again only when its label or model changed, or its probability moved by at least this.</summary>
    public double MinimumChange { get; set; } = 0.01;

    /// <summary>How many of the most at-risk users the totals list.</summary>
    public int AtRiskCount { get; set; } = 20;
}
