namespace Analytics.LocalBroker;

/// <summary>One mock broker: its id (1-based, as in the cluster's metadata) and whether it accepts connections.</summary>
public sealed record MockBrokerState(int Id, bool IsUp);
