using Analytics.Storage;

namespace Analytics.Silo.Hosting;

/// <summary>
/// Brings the schema up to date in the host's Starting phase, before any hosted service starts: Orleans' ADO.NET
/// providers and the consumer both need their tables. Start-up fails (naming the cause) if PostgreSQL never answers.
/// </summary>
internal sealed class DatabaseMigrationService(DatabaseMigrator migrator) : IHostedLifecycleService
{
    public Task StartingAsync(CancellationToken cancellationToken) => migrator.MigrateAsync(cancellationToken);

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
