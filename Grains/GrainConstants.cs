namespace Analytics.Grains;

/// <summary>Names shared by the grains and their hosts.</summary>
public static class GrainConstants
{
    /// <summary>Name of the Kafka stream provider that delivers them (section <c>Kafka</c> of the silo's settings).</summary>
    public const string StreamProviderName = "kafka";

    /// <summary>Name of the grain storage (ADO.NET on PostgreSQL) that holds the user grains' state.</summary>
    public const string UserStorageName = "users";

    /// <summary>Name of the grain storage (ADO.NET on PostgreSQL) of the watermark and the funnel windows.</summary>
    public const string FunnelStorageName = "funnel";
}
