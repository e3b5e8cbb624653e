using System.Collections.Concurrent;

namespace Analytics.Storage.Tests;

[Alias("Analytics.Storage.Tests.IStateTestGrain")]
public interface IStateTestGrain : IGrainWithStringKey
{
    [Alias("Set")]
    Task SetAsync(string value);

    [Alias("Get")]
    Task<StateSnapshot> GetAsync();

    [Alias("Clear")]
    Task ClearAsync();

    [Alias("Deactivate")]
    Task DeactivateAsync();
}

[Alias("Analytics.Storage.Tests.IReminderTestGrain")]
public interface IReminderTestGrain : IGrainWithStringKey
{
    [Alias("Start")]
    Task StartAsync(TimeSpan dueTime, TimeSpan period);

    [Alias("Stop")]
    Task StopAsync();
}

[GenerateSerializer, Alias("Analytics.Storage.Tests.TestState")]
public sealed class TestState
{
    [Id(0)] public string? Value { get; set; }
}

/// <summary>What a state grain holds, and which activation answered.</summary>
[GenerateSerializer, Immutable, Alias("Analytics.Storage.Tests.StateSnapshot")]
public sealed class StateSnapshot
{
    [Id(0)] public string? Value { get; init; }

    [Id(1)] public Guid ActivationId { get; init; }

    [Id(2)] public string? ETag { get; init; }

    [Id(3)] public bool RecordExists { get; init; }
}

public sealed class StateTestGrain(
    [PersistentState("state", OrleansClusterFixture.StorageName)] IPersistentState<TestState> state) : Grain, IStateTestGrain
{
    private readonly Guid _activationId = Guid.NewGuid();

    public async Task SetAsync(string value)
    {
        state.State.Value = value;
        await state.WriteStateAsync();
    }

    public Task<StateSnapshot> GetAsync() => Task.FromResult(new StateSnapshot
    {
        Value = state.State.Value,
        ActivationId = _activationId,
        ETag = state.Etag,
        RecordExists = state.RecordExists,
    });

    public Task ClearAsync() => state.ClearStateAsync();

    public Task DeactivateAsync()
    {
        DeactivateOnIdle();
        return Task.CompletedTask;
    }
}

public sealed class ReminderTestGrain : Grain, IReminderTestGrain, IRemindable
{
    public const string ReminderName = "tick";

    /// <summary>Ticks per grain key; the silo runs in the test process, so the test can watch them.</summary>
    public static ConcurrentDictionary<string, int> Ticks { get; } = new();

    public Task StartAsync(TimeSpan dueTime, TimeSpan period) => this.RegisterOrUpdateReminder(ReminderName, dueTime, period);

    public async Task StopAsync()
    {
        if (await this.GetReminder(ReminderName) is { } reminder)
        {
            await this.UnregisterReminder(reminder);
        }
    }

    public Task ReceiveReminder(string reminderName, TickStatus status)
    {
        Ticks.AddOrUpdate(this.GetPrimaryKeyString(), 1, (_, count) => count + 1);
        return Task.CompletedTask;
    }
}
