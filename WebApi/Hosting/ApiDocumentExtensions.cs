namespace Analytics.WebApi.Hosting;

/// <summary>The OpenAPI document of every endpoint, at <see cref="Path"/> (the dashboard's API page loads it).</summary>
public static class ApiDocumentExtensions
{
    public const string Path = "/openapi/v1.json";

    public static WebApplicationBuilder AddApiDocument(this WebApplicationBuilder builder)
    {
        builder.Services.AddOpenApi(options => options.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "Analytics web API";
            document.Info.Description = "Real-time e-commerce analytics: churn predictions, funnel windows, live KPIs, users and ingestion totals. Errors are application/problem+json.";
            return Task.CompletedTask;
        }));
        return builder;
    }

    public static WebApplication MapApiDocument(this WebApplication app)
    {
        app.MapOpenApi("/openapi/{documentName}.json");
        return app;
    }
}
