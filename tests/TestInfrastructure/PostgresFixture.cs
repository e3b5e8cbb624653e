using Xunit;

namespace Analytics.TestInfrastructure;

/// <summary>
/// One throwaway PostgreSQL server for a test class (<c>IClassFixture</c>) or collection (<c>ICollectionFixture</c>).
/// Tests that must not share data call <see cref="PostgresServer.CreateDatabaseAsync"/> for a fresh database.
/// </summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    private PostgresServer? _server;

    /// <summary>The running server.</summary>
    public PostgresServer Server => _server ?? throw new InvalidOperationException("The PostgreSQL fixture has not been initialised yet.");

    /// <inheritdoc />
    public async Task InitializeAsync() => _server = await PostgresServer.StartAsync();

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}
