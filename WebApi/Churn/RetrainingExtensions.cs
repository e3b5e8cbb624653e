using Microsoft.Extensions.Options;

namespace Analytics.WebApi.Churn;

public static class RetrainingExtensions
{
    /// <summary>The section of what is trained (the Trainer's, too).</summary>
    public const string TrainingSection = "Training";

    /// <summary>Training from the web API: <see cref="RetrainingOptions"/> (validated at start-up with section <c>Training</c>) and <see cref="TrainingJobs"/>.</summary>
    public static IServiceCollection AddRetraining(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<RetrainingOptions>()
            .Bind(configuration.GetSection(RetrainingOptions.SectionName))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<RetrainingOptions>, RetrainingOptionsValidator>();
        services.AddSingleton<TrainingJobs>();
        services.AddHostedService(sp => sp.GetRequiredService<TrainingJobs>());
        return services;
    }
}
