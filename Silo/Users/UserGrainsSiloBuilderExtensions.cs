using Analytics.Grains;
using Analytics.Grains.Users;
using Analytics.Silo.Hosting;
using Analytics.Storage;
using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace Analytics.Silo.Users;

public static class UserGrainsSiloBuilderExtensions
{
    /// <summary>
    /// The user grains' side of the silo: <see cref="UserGrainOptions"/> (section <c>Users</c>, validated at start-up),
    /// their ADO.NET grain storage <c>users</c> on the analytics PostgreSQL (Orleans' binary serializer), their event
    /// history (<c>raw_events</c>, which <c>AddRawEventIngestion</c> fills before delivery: the grains rely on it) and
    /// this silo's <c>churn_features</c> writer, and the check that mends rows a dead silo never wrote. Needs
    /// <c>AddAnalyticsStorage</c>.
    /// </summary>
    public static ISiloBuilder AddUserGrains(this ISiloBuilder silo, IConfiguration configuration)
    {
        silo.Services.AddOptions<UserGrainOptions>()
            .Bind(configuration.GetSection(UserGrainOptions.SectionName))
            .ValidateOnStart();
        silo.Services.AddSingleton<IValidateOptions<UserGrainOptions>, UserGrainOptionsValidator>();

        silo.AddAnalyticsGrainStorage(GrainConstants.UserStorageName);

        silo.Services.AddOptions<GrainCollectionOptions>().Configure<IOptions<UserGrainOptions>>((collection, users) =>
            collection.ClassSpecificCollectionAge[typeof(UserGrain).FullName!] = users.Value.IdleTimeout);

        silo.Services.AddSingleton<IUserEventHistory, RawEventUserHistory>();
        silo.Services.AddSingleton<ChurnFeatureFlusher>();
        silo.Services.AddSingleton<IChurnFeatureSink>(sp => sp.GetRequiredService<ChurnFeatureFlusher>());
        silo.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<ChurnFeatureFlusher>());
        silo.Services.AddHostedService(sp => sp.GetRequiredService<ChurnFeatureFlusher>());
        silo.Services.AddHostedService<ChurnFeatureReconciler>();
        return silo;
    }
}
