using Analytics.TestInfrastructure;

namespace Analytics.Storage.Tests;

/// <summary>The tests that share one throwaway PostgreSQL server; each test makes its own database on it.</summary>
[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresFixture>
{
    public const string Name = "PostgreSQL";
}
