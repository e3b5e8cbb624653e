using Analytics.Grains;
using Analytics.Grains.Funnel;
using Analytics.Silo.Hosting;
using Microsoft.Extensions.Options;

namespace Analytics.Silo.Funnel;

public static class FunnelSiloBuilderExtensions
{
    /// <summary>
    /// The funnel's side of the silo: <see cref="FunnelOptions"/> (section <c>Funnel</c>, validated at start-up), grain
    /// storage <c>funnel</c> on the analytics PostgreSQL, and the reporter that feeds the watermark grain with the event
    /// times the raw-events sink stores. Needs <c>AddAnalyticsStorage</c>.
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
        return silo;
    }
}
