using Microsoft.Extensions.Options;

namespace Analytics.WebApi.Hosting;

/// <summary>How the web API finds the silos' gateways (setting <c>Orleans:Membership</c>, as the silos').</summary>
public enum MembershipMode
{
    /// <summary>The one silo's gateway on this machine, <see cref="OrleansClientOptions.GatewayPort"/>: the embedded default.</summary>
    Localhost,

    /// <summary>Every live silo's gateway, from the membership table in PostgreSQL (<c>Postgres:ConnectionString</c>).</summary>
    AdoNet,
}

/// <summary>How the web API reaches the Orleans cluster (section <c>Orleans</c>, the silo's names for the same things).</summary>
public sealed class OrleansClientOptions
{
    public const string SectionName = "Orleans";

    /// <summary><see cref="MembershipMode.Localhost"/> (default) or <see cref="MembershipMode.AdoNet"/>; the silos' setting.</summary>
    public MembershipMode Membership { get; set; } = MembershipMode.Localhost;

    public string ClusterId { get; set; } = "analytics";

    public string ServiceId { get; set; } = "analytics";

    /// <summary>The silo's gateway port on this machine (localhost clustering only).</summary>
    public int GatewayPort { get; set; } = 30000;

    /// <summary>How long start-up keeps trying to reach a gateway before it gives up.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromMinutes(2);
}

/// <summary>Refuses start-up with a message that names the setting.</summary>
internal sealed class OrleansClientOptionsValidator : IValidateOptions<OrleansClientOptions>
{
    public ValidateOptionsResult Validate(string? name, OrleansClientOptions options)
    {
        const string Section = OrleansClientOptions.SectionName;
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.ClusterId)) failures.Add($"{Section}:ClusterId must be set.");
        if (string.IsNullOrWhiteSpace(options.ServiceId)) failures.Add($"{Section}:ServiceId must be set.");
        if (!Enum.IsDefined(options.Membership)) failures.Add($"{Section}:Membership must be Localhost or AdoNet (was {options.Membership}).");
        if (options.GatewayPort is < 1 or > 65535) failures.Add($"{Section}:GatewayPort must be a port number, 1–65535 (was {options.GatewayPort}).");
        if (options.ConnectTimeout <= TimeSpan.Zero) failures.Add($"{Section}:ConnectTimeout must be positive (was {options.ConnectTimeout}).");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>Start-up waits for the cluster (the silo may still be starting), saying so, up to <see cref="OrleansClientOptions.ConnectTimeout"/>.</summary>
internal sealed partial class ClusterConnectionRetry(IOptions<OrleansClientOptions> options, TimeProvider time, ILogger<ClusterConnectionRetry> logger)
    : IClientConnectionRetryFilter
{
    private DateTimeOffset? _firstFailure;

    public async Task<bool> ShouldRetryConnectionAttempt(Exception exception, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        _firstFailure ??= now;
        if (now - _firstFailure > options.Value.ConnectTimeout)
        {
            LogGaveUp(logger, options.Value.GatewayPort, options.Value.ConnectTimeout, exception.Message);
            return false;
        }

        LogRetrying(logger, options.Value.GatewayPort, exception.Message);
        await Task.Delay(TimeSpan.FromSeconds(1), time, cancellationToken);
        return true;
    }

    [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "The Orleans cluster (gateway port {GatewayPort}) does not answer yet ({Error}); retrying")]
    private static partial void LogRetrying(ILogger logger, int gatewayPort, string error);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Error, Message = "The Orleans cluster (gateway port {GatewayPort}, setting Orleans:GatewayPort) did not answer within {Timeout} (Orleans:ConnectTimeout): {Error}")]
    private static partial void LogGaveUp(ILogger logger, int gatewayPort, TimeSpan timeout, string error);
}
