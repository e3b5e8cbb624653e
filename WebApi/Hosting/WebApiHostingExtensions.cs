using Analytics.Storage;

namespace Analytics.WebApi.Hosting;

public static class WebApiHostingExtensions
{
    /// <summary>Storage, problem details, the clock and health checks.</summary>
    public static WebApplicationBuilder AddWebApi(this WebApplicationBuilder builder)
    {
        builder.Services.AddAnalyticsStorage(builder.Configuration);
        builder.Services.AddProblemDetails();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddHealthChecks().AddCheck<PostgresHealthCheck>("postgres", tags: ["ready"]);
        return builder;
    }

    /// <summary>Errors as <c>application/problem+json</c>.</summary>
    public static WebApplication UseWebApi(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        return app;
    }

    /// <summary><c>/health/live</c>: the process answers; <c>/health/ready</c>: PostgreSQL answers.</summary>
    public static WebApplication MapWebApiHealth(this WebApplication app)
    {
        app.MapHealthChecks("/health/live", new() { Predicate = _ => false });
        app.MapHealthChecks("/health/ready", new() { Predicate = check => check.Tags.Contains("ready") });
        return app;
    }
}
