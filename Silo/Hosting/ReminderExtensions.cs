using Npgsql;

namespace Analytics.Silo.Hosting;

internal static class ReminderExtensions
{
    /// <summary>ADO.NET reminders on the analytics PostgreSQL, beside the grain state; registered once however many parts of the silo need them.</summary>
    public static ISiloBuilder AddAnalyticsReminders(this ISiloBuilder silo)
    {
        if (silo.Services.Any(s => s.ServiceType == typeof(RemindersMarker))) return silo;
        silo.Services.AddSingleton<RemindersMarker>();
        silo.UseAdoNetReminderService(reminders => reminders.Configure<NpgsqlDataSource>((o, dataSource) =>
        {
            o.Invariant = "Npgsql";
            o.DataSource = dataSource;
        }));
        return silo;
    }

    private sealed class RemindersMarker;
}
