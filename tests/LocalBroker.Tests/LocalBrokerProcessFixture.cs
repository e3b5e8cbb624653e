namespace Analytics.LocalBroker.Tests;

/// <summary>One LocalBroker child process shared by the tests of <see cref="LocalBrokerProcessCollection"/>.</summary>
public sealed class LocalBrokerProcessFixture : IAsyncLifetime
{
    private LocalBrokerProcess? _broker;

    internal LocalBrokerProcess Broker =>
        _broker ?? throw new InvalidOperationException("The LocalBroker process has not been started yet.");

    // The tests have one consumer per group; waiting 3 s for more members would only slow them down.
    public async Task InitializeAsync() =>
        _broker = await LocalBrokerProcess.StartAsync("--group-initial-rebalance-delay", "00:00:00");

    public async Task DisposeAsync()
    {
        if (_broker is not null)
        {
            await _broker.DisposeAsync();
        }
    }
}

/// <summary>Tests that share one LocalBroker process; they run one at a time and leave every broker up.</summary>
[CollectionDefinition(Name)]
public sealed class LocalBrokerProcessCollection : ICollectionFixture<LocalBrokerProcessFixture>
{
    public const string Name = "LocalBroker process";
}
