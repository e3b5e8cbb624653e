namespace Analytics.ChurnBenchmark.Cli;

/// <summary>One run of the prediction load benchmark (verb <c>predict</c>), as the command line describes it.</summary>
internal sealed record PredictBenchmarkOptions
{
    /// <summary>Base address of the web API; requests go to <c>POST {Url}/predict</c>. Required.</summary>
    public required Uri Url { get; init; }

    /// <summary>Users asked for: <c>{UserPrefix}k</c> with k uniform in [1, Users]. Required unless <see cref="UserIdsFile"/> is given.</summary>
    public required int Users { get; init; }

    /// <summary>A file of user ids, one a line, to draw from uniformly instead of <c>{UserPrefix}1</c>..<c>{UserPrefix}{Users}</c>; none by default.</summary>
    public string? UserIdsFile { get; init; }

    /// <summary>Which users the requests name, for the report.</summary>
    public string DescribeUsers(int? idsInFile = null) => UserIdsFile is null
        ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"users {UserPrefix}1..{UserPrefix}{Users:N0} uniform")
        : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{idsInFile:N0} user ids of {Path.GetFileName(UserIdsFile)} uniform");

    /// <summary>Prefix of the user ids. Default <c>user_</c>, the simulator's.</summary>
    public required string UserPrefix { get; init; }

    /// <summary>Requests in flight at once: one async loop each, over as many connections. Default 32.</summary>
    public required int Concurrency { get; init; }

    /// <summary>How long the load runs before measuring starts (JIT, connections, caches). Default 5 s.</summary>
    public required TimeSpan WarmUp { get; init; }

    /// <summary>How long the measured window lasts. Default 30 s.</summary>
    public required TimeSpan Duration { get; init; }

    /// <summary>Longest one request may take before it counts as failed. Default 10 s.</summary>
    public required TimeSpan RequestTimeout { get; init; }

    /// <summary>Processes under test whose CPU time is measured over the window (e.g. the web API and the silo); none by default.</summary>
    public required IReadOnlyList<int> Pids { get; init; }

    /// <summary>Seed of the user choice. Default 42.</summary>
    public required int Seed { get; init; }

    /// <summary>Where the JSON result goes; none by default.</summary>
    public string? Output { get; init; }

    /// <summary>The least share of answers with status 200 for a successful run.</summary>
    public const double RequiredSuccessRate = 0.99;
}
