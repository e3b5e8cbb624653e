using Analytics.Churn.Serving;
using Analytics.Grains.Churn;
using Analytics.Silo.Hosting;
using Microsoft.Extensions.Options;

namespace Analytics.Silo.Churn;

public static class ChurnSiloBuilderExtensions
{
    /// <summary>
    /// Live churn predictions: the served model (section <c>Churn</c>, picked up from its directory without a restart),
    /// <see cref="ChurnScoringOptions"/> (section <c>ChurnScoring</c>, validated at start-up), the scoring grain's store
    /// on PostgreSQL, its reminder, and the start-up call that registers it. Needs <c>AddAnalyticsStorage</c> and the
    /// user grains.
    /// </summary>
    public static ISiloBuilder AddChurnScoring(this ISiloBuilder silo, IConfiguration configuration)
    {
        silo.Services.AddChurnServing(configuration);
        silo.Services.AddOptions<ChurnScoringOptions>()
            .Bind(configuration.GetSection(ChurnScoringOptions.SectionName))
            .ValidateOnStart();
        silo.Services.AddSingleton<IValidateOptions<ChurnScoringOptions>, ChurnScoringOptionsValidator>();
        silo.Services.AddSingleton<IChurnPredictionStore, PostgresChurnPredictionStore>();
        silo.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, ChurnScoringStarter>();
        silo.AddAnalyticsReminders();
        return silo;
    }
}
