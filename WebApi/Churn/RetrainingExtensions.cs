using Analytics.Churn;
using Microsoft.Extensions.Options;

namespace Analytics.WebApi.Churn;

public static class RetrainingExtensions
{
    /// <summary>The section of what is trained (the Trainer's, too).</summary>
    public const string TrainingSection = "Training";

    /// <summary>Training from the web API: <see cref="RetrainingOptions"/> and what is trained (<see cref="ChurnTrainingOptions"/>, section <c>Training</c>), both validated at start-up, and <see cref="TrainingJobs"/>.</summary>
    public static IServiceCollection AddRetraining(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<RetrainingOptions>()
            .Bind(configuration.GetSection(RetrainingOptions.SectionName))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<RetrainingOptions>, RetrainingOptionsValidator>();
        services.AddOptions<ChurnTrainingOptions>()
            .Bind(configuration.GetSection(TrainingSection))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<ChurnTrainingOptions>, TrainingOptionsValidator>();
        services.AddSingleton<TrainingJobs>();
        services.AddHostedService(sp => sp.GetRequiredService<TrainingJobs>());
        return services;
    }
}
