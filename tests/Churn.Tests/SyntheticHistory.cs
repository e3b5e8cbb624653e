using Analytics.Grains.Interfaces.Events;
using Analytics.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Analytics.Churn.Tests;

/// <summary>A small, regular history: 300 users, one event a day; a third of them stop after two weeks, the rest go on to day 29.</summary>
internal static class SyntheticHistory
{
    public static readonly DateTimeOffset Start = new(2026, 5, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>The newest event: day 29 of user 299.</summary>
    public static readonly DateTimeOffset NewestEvent = Start.AddDays(29).AddMinutes(299);

    public static List<RawEvent> Events()
    {
        var events = new List<RawEvent>();
        var offset = 0L;
        for (var user = 0; user < 300; user++)
        {
            var lastDay = StopsEarly(user) ? 14 : 29;
            for (var day = 0; day <= lastDay; day++)
            {
                var e = new UserEvent
                {
                    EventId = Guid.NewGuid(),
                    UserId = UserId(user),
                    SessionId = $"u{user}-{day}",
                    EventType = day % 5 == 4 ? UserEventType.AddToCart : UserEventType.View,
                    ProductId = "p",
                    Category = "books",
                    Price = 10m,
                    EventTime = Start.AddDays(day).AddMinutes(user),
                };
                events.Add(new RawEvent(e, 0, offset++));
            }
        }

        return events;
    }

    public static string UserId(int user) => $"u{user}";

    public static bool StopsEarly(int user) => user % 3 == 0;

    /// <summary>A fresh, migrated database on <paramref name="server"/> holding <see cref="Events"/>; returns its connection string.</summary>
    public static async Task<string> CreateDatabaseAsync(TestInfrastructure.PostgresServer server)
    {
        var database = await server.CreateDatabaseAsync();
        await using var dataSource = NpgsqlDataSource.Create(database);
        var migrator = new DatabaseMigrator(dataSource, Microsoft.Extensions.Options.Options.Create(new PostgresOptions { ConnectionString = database }), NullLogger<DatabaseMigrator>.Instance);
        await migrator.MigrateAsync(CancellationToken.None);
        await new RawEventWriter(dataSource).WriteAsync(Events(), CancellationToken.None);
        return database;
    }
}
