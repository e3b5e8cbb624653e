using Microsoft.Extensions.Options;

namespace Analytics.WebApi.Live;

/// <summary>How the dashboard hub pushes (section <c>Dashboard</c>).</summary>
public sealed class DashboardOptions
{
    public const string SectionName = "Dashboard";

    /// <summary>At most one push of changed windows per interval, whatever the event rate.</summary>
    public TimeSpan PushInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>How often the KPIs are read and pushed.</summary>
    public TimeSpan KpiInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How often the churn totals and the pipeline's health are read (pushed when they changed).</summary>
    public TimeSpan StatusInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>The windows a newly connected dashboard gets: those that started within this span.</summary>
    public TimeSpan WindowSpan { get; set; } = TimeSpan.FromHours(24);
}

/// <summary>Refuses start-up with a message that names the setting.</summary>
internal sealed class DashboardOptionsValidator : IValidateOptions<DashboardOptions>
{
    public ValidateOptionsResult Validate(string? name, DashboardOptions options)
    {
        const string Section = DashboardOptions.SectionName;
        var failures = new List<string>();
        if (options.PushInterval < TimeSpan.FromMilliseconds(10)) failures.Add($"{Section}:PushInterval must be at least 10 ms (was {options.PushInterval}).");
        if (options.KpiInterval < TimeSpan.FromMilliseconds(100)) failures.Add($"{Section}:KpiInterval must be at least 100 ms (was {options.KpiInterval}).");
        if (options.StatusInterval < TimeSpan.FromMilliseconds(100)) failures.Add($"{Section}:StatusInterval must be at least 100 ms (was {options.StatusInterval}).");
        if (options.WindowSpan <= TimeSpan.Zero || options.WindowSpan > TimeSpan.FromDays(31)) failures.Add($"{Section}:WindowSpan must be positive and at most 31 days (was {options.WindowSpan}).");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
