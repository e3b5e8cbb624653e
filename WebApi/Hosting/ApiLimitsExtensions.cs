using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace Analytics.WebApi.Hosting;

/// <summary>Body size limits (all endpoints, and a smaller one for <c>POST /predict</c>) and rate limiting of <c>POST /predict</c>; refusals as problem details.</summary>
public static class ApiLimitsExtensions
{
    /// <summary>The name <c>ChurnApi</c> gives <c>POST /predict</c>: the limits follow the endpoint, not a path.</summary>
    public const string PredictEndpointName = "PredictChurn";

    /// <summary><see cref="RequestLimitsOptions"/> and <see cref="RateLimitingOptions"/>, validated at start-up.</summary>
    public static WebApplicationBuilder AddApiLimits(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<RequestLimitsOptions>().Bind(builder.Configuration.GetSection(RequestLimitsOptions.SectionName)).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<RequestLimitsOptions>, RequestLimitsOptionsValidator>();
        builder.Services.AddOptions<RateLimitingOptions>().Bind(builder.Configuration.GetSection(RateLimitingOptions.SectionName)).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<RateLimitingOptions>, RateLimitingOptionsValidator>();

        builder.Services.AddOptions<KestrelServerOptions>().Configure<IOptions<RequestLimitsOptions>>(
            (kestrel, limits) => kestrel.Limits.MaxRequestBodySize = limits.Value.MaxBodyBytes);

        // A body found too large while it is read (no Content-Length) surfaces as Kestrel's BadHttpRequestException:
        // answer with its status (413), as problem details, rather than 500.
        builder.Services.Configure<ExceptionHandlerOptions>(options =>
            options.StatusCodeSelector = exception => exception is Microsoft.AspNetCore.Http.BadHttpRequestException bad ? bad.StatusCode : StatusCodes.Status500InternalServerError);

        builder.Services.AddRateLimiter(_ => { });
        builder.Services.AddOptions<RateLimiterOptions>().Configure<IOptions<RateLimitingOptions>>((limiter, settings) =>
        {
            var permits = settings.Value.PredictPermitsPerSecond;
            var enabled = settings.Value.Enabled;
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context =>
                enabled && IsPredict(context)
                    ? RateLimitPartition.GetTokenBucketLimiter(context.Connection.RemoteIpAddress?.ToString() ?? "unknown", _ => new TokenBucketRateLimiterOptions
                    {
                        TokenLimit = permits,
                        TokensPerPeriod = permits,
                        ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                        QueueLimit = 0,
                        AutoReplenishment = true,
                    })
                    : RateLimitPartition.GetNoLimiter(""));
            limiter.OnRejected = (rejected, cancellationToken) =>
            {
                var seconds = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)) : 1;
                rejected.HttpContext.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
                return new ValueTask(WriteProblemAsync(
                    rejected.HttpContext,
                    StatusCodes.Status429TooManyRequests,
                    "Too many requests",
                    $"More than {permits} predictions per second from this address (RateLimiting:PredictPermitsPerSecond); retry after {seconds} s."));
            };
        });
        return builder;
    }

    /// <summary>The limits, after routing (they depend on the endpoint) and before the endpoints.</summary>
    public static WebApplication UseApiLimits(this WebApplication app)
    {
        var limits = app.Services.GetRequiredService<IOptions<RequestLimitsOptions>>().Value;
        app.Use((context, next) =>
        {
            var predict = IsPredict(context);
            var limit = predict ? limits.PredictMaxBodyBytes : limits.MaxBodyBytes;
            if (predict && context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size) size.MaxRequestBodySize = limit;

            // Refused before reading when the length is declared; an undeclared one is cut off by the server as it reads.
            if (context.Request.ContentLength > limit)
            {
                return WriteProblemAsync(
                    context,
                    StatusCodes.Status413PayloadTooLarge,
                    "Request body too large",
                    $"This endpoint accepts a body of at most {limit} bytes (was {context.Request.ContentLength}); see RequestLimits:{(predict ? "PredictMaxBodyBytes" : "MaxBodyBytes")}.");
            }

            return next(context);
        });
        app.UseRateLimiter();
        return app;
    }

    private static bool IsPredict(HttpContext context)
        => context.GetEndpoint()?.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName == PredictEndpointName;

    private static async Task WriteProblemAsync(HttpContext context, int status, string title, string detail)
    {
        context.Response.StatusCode = status;
        await context.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = { Status = status, Title = title, Detail = detail },
        });
    }
}
