using Microsoft.Extensions.Options;

namespace Analytics.WebApi.Live;

public static class DashboardHubExtensions
{
    /// <summary>SignalR, the dashboard's state and its broadcaster; <see cref="DashboardOptions"/> (section <c>Dashboard</c>) validated at start-up.</summary>
    public static IServiceCollection AddDashboardHub(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<DashboardOptions>()
            .Bind(configuration.GetSection(DashboardOptions.SectionName))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<DashboardOptions>, DashboardOptionsValidator>();
        services.AddSignalR();
        services.AddSingleton<DashboardState>();
        services.AddHostedService<DashboardBroadcaster>();
        return services;
    }

    /// <summary>Maps the hub at <see cref="DashboardHubContract.Path"/>.</summary>
    public static IEndpointRouteBuilder MapDashboardHub(this IEndpointRouteBuilder app)
    {
        app.MapHub<DashboardHub>(DashboardHubContract.Path);
        return app;
    }
}
