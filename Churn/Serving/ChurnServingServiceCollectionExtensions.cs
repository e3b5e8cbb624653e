using Analytics.Grains.Churn;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Analytics.Churn.Serving;

public static class ChurnServingServiceCollectionExtensions
{
    /// <summary>
    /// The churn model for serving: <see cref="ChurnServingOptions"/> (section <c>Churn</c>, validated at start-up) and
    /// the <see cref="ChurnModelProvider"/> (also the grains' <see cref="IChurnScorer"/>), which loads the model at
    /// start-up and picks up new ones. Needs a <see cref="TimeProvider"/>.
    /// </summary>
    public static IServiceCollection AddChurnServing(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<ChurnServingOptions>()
            .Bind(configuration.GetSection(ChurnServingOptions.SectionName))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ChurnServingOptions>, ChurnServingOptionsValidator>());
        services.TryAddSingleton<ChurnModelProvider>();
        services.TryAddSingleton<IChurnScorer>(sp => sp.GetRequiredService<ChurnModelProvider>());
        services.AddHostedService(sp => sp.GetRequiredService<ChurnModelProvider>());
        return services;
    }
}
