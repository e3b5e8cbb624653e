using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace Analytics.LocalBroker.Hosting;

/// <summary>Wiring of the development broker into an ASP.NET Core host.</summary>
public static class LocalBrokerHostingExtensions
{
    /// <summary>Exit code when the configuration is invalid.</summary>
    public const int InvalidConfigurationExitCode = 2;

    /// <summary>
    /// Adds the mock Kafka cluster, its validated <see cref="LocalBrokerOptions"/> (with the friendly command-line
    /// switches of <see cref="LocalBrokerSwitches"/>), and a Kestrel listener on <see cref="LocalBrokerOptions.ControlUrl"/> only.
    /// </summary>
    public static WebApplicationBuilder AddLocalBroker(this WebApplicationBuilder builder, string[] args)
    {
        ArgumentNullException.ThrowIfNull(builder);

        // Added after the default sources, so these switches win like any command-line value.
        builder.Configuration.AddCommandLine(args, LocalBrokerSwitches.Create());

        var services = builder.Services;
        services.AddOptions<LocalBrokerOptions>()
            .BindConfiguration(LocalBrokerOptions.SectionName)
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<LocalBrokerOptions>, LocalBrokerOptionsValidator>();

        // Kestrel is built with the WebApplication, before start-up validation runs: read the raw setting here and
        // leave a bad value to the validator, which stops the host before Kestrel listens.
        services.AddOptions<KestrelServerOptions>()
            .Configure<IConfiguration>((kestrel, configuration) =>
            {
                var controlUrl = configuration.GetSection(LocalBrokerOptions.SectionName)[nameof(LocalBrokerOptions.ControlUrl)]
                    ?? new LocalBrokerOptions().ControlUrl;
                if (LocalBrokerOptionsValidator.TryParseControlUrl(controlUrl, out var endpoint, out _))
                {
                    kestrel.Listen(endpoint);
                }
            });

        services.AddSingleton<MockKafkaClusterService>();
        services.AddHostedService(provider => provider.GetRequiredService<MockKafkaClusterService>());

        services.AddProblemDetails();
        services.ConfigureHttpJsonOptions(json => json.SerializerOptions.Converters.Add(new JsonStringEnumConverter()));
        return builder;
    }

    /// <summary>
    /// Runs until SIGTERM or Ctrl+C. An invalid configuration is reported on stderr as one message naming each
    /// wrong setting, and yields <see cref="InvalidConfigurationExitCode"/> instead of a crash.
    /// </summary>
    public static async Task<int> RunLocalBrokerAsync(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        try
        {
            await app.RunAsync();
            return 0;
        }
        catch (OptionsValidationException ex)
        {
            await Console.Error.WriteLineAsync("LocalBroker cannot start; fix these settings:");
            foreach (var failure in ex.Failures)
            {
                await Console.Error.WriteLineAsync("  " + failure);
            }

            return InvalidConfigurationExitCode;
        }
        catch (InvalidOperationException ex) when (ex.TargetSite?.DeclaringType == typeof(ConfigurationBinder))
        {
            // A value of the wrong type: "Failed to convert configuration value 'x' at 'LocalBroker:Partitions' ...".
            await Console.Error.WriteLineAsync($"LocalBroker cannot start: {ex.Message}");
            return InvalidConfigurationExitCode;
        }
    }
}
