using Analytics.Grains;
using Analytics.Grains.Funnel;
using Analytics.Silo.Hosting;
using Analytics.Streaming.Kafka;
using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace Analytics.Silo.Funnel;

public static class FunnelSiloBuilderExtensions
{
    /// <summary>
    /// The funnel's side of the silo: <see cref="FunnelOptions"/> (section <c>Funnel</c>, validated at start-up), grain
    /// storage <c>funnel</c> and ADO.NET reminders on the analytics PostgreSQL, the window grains' event pipe, history
    /// and <c>funnel_summary</c> writer, and the reporter that feeds the watermark grain with the event
    /// times the Kafka stream provider has delivered. Needs <c>AddAnalyticsStorage</c>.
    /// </summary>
    public static ISiloBuilder AddFunnel(this ISiloBuilder silo, IConfiguration configuration)
    {
        silo.Services.AddOptions<FunnelOptions>()
            .Bind(configuration.GetSection(FunnelOptions.SectionName))
            .ValidateOnStart();
        silo.Services.AddSingleton<IValidateOptions<FunnelOptions>, FunnelOptionsValidator>();
        silo.AddAnalyticsGrainStorage(GrainConstants.FunnelStorageName);
        silo.Services.AddSingleton<WatermarkReporter>();
        silo.Services.AddHostedService(sp => sp.GetRequiredService<WatermarkReporter>());
        silo.Services.AddSingleton<IKafkaDeliveryObserver>(sp => sp.GetRequiredService<WatermarkReporter>());

        silo.Services.AddSingleton<IFunnelContributions, FunnelContributionBuffer>();
        silo.Services.AddSingleton<IFunnelWindowHistory, RawEventFunnelHistory>();
        silo.Services.AddSingleton<FunnelSummaryFlusher>();
        silo.Services.AddSingleton<IFunnelWindowSink>(sp => sp.GetRequiredService<FunnelSummaryFlusher>());
        silo.Services.AddHostedService(sp => sp.GetRequiredService<FunnelSummaryFlusher>());

        // Open windows keep a reminder until they are final; reminders live in PostgreSQL beside the grain state.
        silo.AddAnalyticsReminders();
        silo.Services.AddOptions<ReminderOptions>().Configure<IOptions<FunnelOptions>>((reminders, funnel) =>
        {
            if (funnel.Value.FinalisationCheckPeriod < reminders.MinimumReminderPeriod) reminders.MinimumReminderPeriod = funnel.Value.FinalisationCheckPeriod;
        });

        // A window stays active while it is open (its ordered funnel included); it comes back from storage if needed.
        silo.Services.AddOptions<GrainCollectionOptions>().Configure<IOptions<FunnelOptions>>((collection, funnel) =>
            collection.ClassSpecificCollectionAge[typeof(FunnelWindowGrain).FullName!] =
                funnel.Value.WindowSize + funnel.Value.AllowedLateness + funnel.Value.SessionTimeout + TimeSpan.FromMinutes(5));
        return silo;
    }
}
