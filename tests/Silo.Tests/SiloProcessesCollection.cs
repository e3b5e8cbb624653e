namespace Analytics.Silo.Tests;

/// <summary>
/// The tests that run whole silos under load, one class at a time: on two cores, a 100,000-event cluster next to a
/// PostgreSQL outage test would measure the machine rather than the code.
/// </summary>
[CollectionDefinition(Name)]
public sealed class SiloProcessesCollection
{
    public const string Name = "Silo processes";
}
