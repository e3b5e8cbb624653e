using System.CommandLine;
using System.Globalization;

namespace Analytics.Benchmarking;

/// <summary>The benchmarks' option parsers: whole numbers with <c>_</c> or <c>,</c> separators, bounded reals, and durations with a unit.</summary>
public static class CliOptions
{
    /// <summary>
    /// Parses <paramref name="args"/> against <paramref name="root"/> and runs the verb's action; on invalid options,
    /// prints each error and a hint to <paramref name="error"/> and returns <see cref="ExitCodes.Usage"/>.
    /// </summary>
    public static async Task<int> InvokeAsync(RootCommand root, string[] args, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(error);
        var result = root.Parse(args);
        if (result.Errors.Count > 0)
        {
            foreach (var e in result.Errors) await error.WriteLineAsync($"error: {e.Message}").ConfigureAwait(false);
            await error.WriteLineAsync("Run with --help for the options.").ConfigureAwait(false);
            return ExitCodes.Usage;
        }

        return await result.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null }).ConfigureAwait(false);
    }

    /// <summary>An <c>--output FILE</c> option for the JSON report.</summary>
    public static Option<string?> Output() => new("--output") { Description = "Write the results as JSON to FILE.", HelpName = "FILE" };

    /// <summary>A required absolute http:// or https:// address.</summary>
    public static Option<Uri> HttpUrl(string name, string description) => new(name)
    {
        Description = description,
        HelpName = "URL",
        Required = true,
        CustomParser = r =>
        {
            var text = r.Tokens.Count > 0 ? r.Tokens[0].Value : "";
            if (Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)) return uri;
            r.AddError($"{name}: '{text}' is not an absolute http:// or https:// address");
            return new Uri("http://127.0.0.1/");
        },
    };

    /// <summary>Processes under test whose CPU time a run measures (<c>--pid</c>, repeatable).</summary>
    public static Option<int[]> Pids(string description) => new("--pid")
    {
        Description = description,
        HelpName = "PID",
        DefaultValueFactory = _ => [],
    };

    public static Option<long> Long(string name, string description, long defaultValue, long min, long max, string helpName) => new(name)
    {
        Description = description,
        HelpName = helpName,
        DefaultValueFactory = _ => defaultValue,
        CustomParser = r =>
        {
            var text = r.Tokens.Count > 0 ? r.Tokens[0].Value : "";
            if (long.TryParse(text.Replace("_", "", StringComparison.Ordinal).Replace(",", "", StringComparison.Ordinal), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value)
                && value >= min && value <= max)
            {
                return value;
            }

            r.AddError(string.Create(CultureInfo.InvariantCulture, $"{name}: '{text}' is not a whole number from {min:N0} to {max:N0}"));
            return defaultValue;
        },
    };

    public static Option<double> Real(string name, string description, double defaultValue, double min, double max, string helpName) => new(name)
    {
        Description = description,
        HelpName = helpName,
        DefaultValueFactory = _ => defaultValue,
        CustomParser = r =>
        {
            var text = r.Tokens.Count > 0 ? r.Tokens[0].Value : "";
            if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max) return value;
            r.AddError(string.Create(CultureInfo.InvariantCulture, $"{name}: '{text}' is not a number from {min} to {max}"));
            return defaultValue;
        },
    };

    public static Option<TimeSpan> Duration(string name, string description, TimeSpan defaultValue, bool allowZero = false) => new(name)
    {
        Description = description,
        HelpName = "DURATION",
        DefaultValueFactory = _ => defaultValue,
        CustomParser = r =>
        {
            var text = r.Tokens.Count > 0 ? r.Tokens[0].Value : "";
            if (TryParseDuration(text, out var value) && (value > TimeSpan.Zero || (allowZero && value == TimeSpan.Zero))) return value;
            r.AddError($"{name}: '{text}' is not a {(allowZero ? "" : "positive ")}duration such as 500ms, 30s, 5m, 2h or 14d");
            return defaultValue;
        },
    };

    /// <summary>A number with a unit: <c>ms</c>, <c>s</c> (also none), <c>m</c>, <c>h</c> or <c>d</c>; at most 10 years.</summary>
    public static bool TryParseDuration(string text, out TimeSpan value)
    {
        text = text.Trim();
        var (number, seconds) =
            text.EndsWith("ms", StringComparison.Ordinal) ? (text[..^2], 0.001)
            : text.EndsWith('s') ? (text[..^1], 1.0)
            : text.EndsWith('m') ? (text[..^1], 60.0)
            : text.EndsWith('h') ? (text[..^1], 3600.0)
            : text.EndsWith('d') ? (text[..^1], 86_400.0)
            : (text, 1.0);
        if (double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var n) && double.IsFinite(n) && n >= 0 && n * seconds <= 3650 * 86_400.0)
        {
            value = TimeSpan.FromSeconds(n * seconds);
            return true;
        }

        value = TimeSpan.Zero;
        return false;
    }

    /// <summary>A duration the way the options take it: <c>3d</c>, <c>12h</c>, <c>90s</c>.</summary>
    public static string Describe(TimeSpan t) => t.TotalDays >= 1 && t.TotalDays == Math.Floor(t.TotalDays) ? Invariant($"{t.TotalDays:0}d")
        : t.TotalHours >= 1 && t.TotalHours == Math.Floor(t.TotalHours) ? Invariant($"{t.TotalHours:0}h")
        : Invariant($"{t.TotalSeconds:0.###}s");

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

/// <summary>The process exit codes.</summary>
public static class ExitCodes
{
    /// <summary>The run measured what it set out to (targets met or not).</summary>
    public const int Ok = 0;

    /// <summary>The run could not measure, or a check failed (a 200 rate below 99 %, a malformed answer).</summary>
    public const int Failed = 1;

    /// <summary>An invalid option.</summary>
    public const int Usage = 2;
}
