using System.Text.Json.Nodes;
using Analytics.Producer.Cli;
using Analytics.TestInfrastructure;
using static Analytics.Deployment.Tests.ComposeModel;

namespace Analytics.Deployment.Tests;

/// <summary>
/// docker-compose.yml, proven as far as it can be without a container engine. Every check is also fed a broken copy
/// to show that it can fail.
/// </summary>
[Collection(ComposeCollection.Name)]
public sealed class ComposeFileTests(ResolvedCompose compose) : IDisposable
{
    private static string Root => RepositoryPaths.Root;

    private readonly string _scratch = Directory.CreateTempSubdirectory("deployment-tests-").FullName;

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    // ---- 1. docker-compose validates the file ----

    [Fact]
    public void Config_Validates_WithTheRequiredVariablesSet()
    {
        ComposeFile.RequireTool();
        var result = ComposeFile.Run(ComposeFile.Path, ComposeFile.RequiredVariables, "-q");
        Assert.True(result.ExitCode == 0, $"docker-compose -f {ComposeFile.FileName} config -q failed ({result.ExitCode}): {result.StandardError}");
    }

    [Theory]
    [InlineData("POSTGRES_PASSWORD")]
    [InlineData("RETRAINING_API_KEY")]
    public void Config_MissingSecret_IsRefusedNamingIt(string secret)
    {
        ComposeFile.RequireTool();
        var variables = ComposeFile.RequiredVariables.Where(v => v.Key != secret).ToDictionary();
        var result = ComposeFile.Run(ComposeFile.Path, variables, "-q");
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains(secret, result.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public void Config_UnknownKey_IsRefused()
    {
        ComposeFile.RequireTool();
        var broken = WriteVariant(text => text.Replace("    restart: unless-stopped\n", "    restart: unless-stopped\n    restart_when: always\n", StringComparison.Ordinal));
        var result = ComposeFile.Run(broken, ComposeFile.RequiredVariables, "-q");
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("restart_when", result.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public void EnvExample_DocumentsEveryVariableTheFileUses()
    {
        var example = File.ReadAllText(Path.Combine(Root, ".env.example"));
        var undocumented = ComposeFile.VariablesUsed(File.ReadAllText(ComposeFile.Path))
            .Where(v => !example.Contains($"{v}=", StringComparison.Ordinal))
            .ToList();
        Assert.True(undocumented.Count == 0, $".env.example does not document: {string.Join(", ", undocumented)}");
        Assert.Contains("POSTGRES_PASSWORD", ComposeFile.RequiredVariables.Keys);
    }

    // ---- 2. what it builds and pulls exists ----

    [Fact]
    public void ImagesAndBuilds_AllExistInTheRepositoryOrArePublished()
        => AssertNoProblems(ComposeChecks.ImagesAndBuilds(compose.Interpolated, Root));

    [Fact]
    public void ImagesAndBuilds_BrokenCopies_AreReported()
    {
        AssertReports("Silo/Dockerfile.missing does not exist", ComposeChecks.ImagesAndBuilds(
            Mutate(c => Service(c, "silo")["build"]!["dockerfile"] = "Silo/Dockerfile.missing"), Root));
        AssertReports("has no pinned tag", ComposeChecks.ImagesAndBuilds(Mutate(c => Service(c, "postgres")["image"] = "postgres:latest"), Root));
        AssertReports("neither built here nor one of the published images", ComposeChecks.ImagesAndBuilds(
            Mutate(c => Service(c, "postgres")["image"] = "bitnami/postgresql:16"), Root));
        AssertReports("not the repository root", ComposeChecks.ImagesAndBuilds(
            Mutate(c => Service(c, "webapi")["build"]!["context"] = Path.Combine(Root, "WebApi")), Root));
    }

    [Theory]
    [InlineData("Silo")]
    [InlineData("WebApi")]
    [InlineData("Producer")]
    public void Dockerfile_IsMultiStageNonRootAndRunsTheTestedAssembly(string folder)
    {
        var contract = ServiceContract.ForProjectFolder(folder)!;
        var text = File.ReadAllText(Path.Combine(Root, folder, "Dockerfile"));
        AssertNoProblems(DockerfileChecks.Check(text, folder, contract.Assembly, Root));
        Assert.Equal($"Analytics.{folder}", contract.Assembly.GetName().Name);

        AssertReports("ENTRYPOINT", DockerfileChecks.Check(text.Replace($"Analytics.{folder}.dll", "Analytics.Other.dll", StringComparison.Ordinal), folder, contract.Assembly, Root));
        AssertReports("runs as root", DockerfileChecks.Check(text.Replace("USER $APP_UID", "", StringComparison.Ordinal), folder, contract.Assembly, Root));
        AssertReports("no such file", DockerfileChecks.Check(text.Replace($"COPY {folder}/ {folder}/", $"COPY {folder}Missing/ {folder}/", StringComparison.Ordinal), folder, contract.Assembly, Root));
        AssertReports("not pinned", DockerfileChecks.Check(text.Replace("sdk:10.0-noble", "sdk:latest", StringComparison.Ordinal), folder, contract.Assembly, Root));
    }

    // ---- 3. every variable it sets is one the services read ----

    [Fact]
    public void Settings_EveryVariableIsOneTheServiceReads()
        => AssertNoProblems(ComposeChecks.Settings(compose.Interpolated, Root));

    [Fact]
    public void Settings_UnknownOrUnusableVariables_AreReported()
    {
        AssertReports("Partitionz", ComposeChecks.Settings(Mutate(c => Service(c, "silo")["environment"]!["Kafka__Partitionz"] = "8"), Root));
        AssertReports("Bogus", ComposeChecks.Settings(Mutate(c => Service(c, "silo")["environment"]!["Orleans__Membership"] = "Bogus"), Root));
        AssertReports("section 'Retraining' is not read", ComposeChecks.Settings(Mutate(c => Service(c, "silo")["environment"]!["Retraining__Enabled"] = "true"), Root));
        AssertReports("KafkaHealthOptions", ComposeChecks.Settings(Mutate(c => Service(c, "webapi")["environment"]!["Kafka__ConsumerGroup"] = "x"), Root));
        AssertReports("PRODUCER_RATE", ComposeChecks.Settings(Mutate(c => Service(c, "producer")["environment"]!["PRODUCER_RATE"] = "5"), Root));

        // A dictionary of librdkafka settings takes any key; the host's own settings are allowed.
        AssertNoProblems(ComposeChecks.Settings(Mutate(c =>
        {
            Service(c, "silo")["environment"]!["Kafka__Properties__fetch.wait.max.ms"] = "50";
            Service(c, "webapi")["environment"]!["DOTNET_gcServer"] = "1";
            Service(c, "webapi")["environment"]!["Logging__LogLevel__Default"] = "Warning";
        }), Root));
    }

    [Fact]
    public void Settings_SecretsComeFromTheEnvironment_NeverALiteral()
    {
        var raw = compose.Raw;
        Assert.StartsWith("${RETRAINING_API_KEY:?", Environment(Service(raw, "webapi"))["Retraining__ApiKey"], StringComparison.Ordinal);
        Assert.StartsWith("${POSTGRES_PASSWORD:?", Environment(Service(raw, "postgres"))["POSTGRES_PASSWORD"], StringComparison.Ordinal);
        Assert.Contains("Password=${POSTGRES_PASSWORD:?", Environment(Service(raw, "silo"))["Postgres__ConnectionString"], StringComparison.Ordinal);
        Assert.Contains("Password=${POSTGRES_PASSWORD:?", Environment(Service(raw, "webapi"))["Postgres__ConnectionString"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task ProducerCommand_IsAcceptedByProducerCli()
    {
        var command = Strings(Service(compose.Interpolated, "producer")["command"]);
        var (exitCode, error) = await RunProducerAsync(command);
        Assert.True(exitCode == ExitCodes.Ok, $"the producer refused its compose command ({exitCode}): {error}");

        var (badExit, badError) = await RunProducerAsync([.. command, "--speedy", "2"]);
        Assert.Equal(ExitCodes.Usage, badExit);
        Assert.Contains("--speedy", badError, StringComparison.Ordinal);
    }

    // ---- the services agree with each other ----

    [Fact]
    public void Wiring_ServicesAgree()
        => AssertNoProblems(ComposeChecks.Wiring(compose.Interpolated, Root));

    [Fact]
    public void Wiring_Disagreements_AreReported()
    {
        AssertReports("Kafka__Partitions=4", ComposeChecks.Wiring(Mutate(c => Service(c, "silo")["environment"]!["Kafka__Partitions"] = "4"), Root));
        AssertReports("different topics", ComposeChecks.Wiring(Mutate(c => Service(c, "webapi")["environment"]!["Kafka__Topic"] = "events"), Root));
        AssertReports("must be AdoNet", ComposeChecks.Wiring(Mutate(c =>
        {
            Service(c, "silo")["environment"]!["Orleans__Membership"] = "Localhost";
            Service(c, "webapi")["environment"]!["Orleans__Membership"] = "Localhost";
        }), Root));
        AssertReports("1 replica(s)", ComposeChecks.Wiring(Mutate(c => Service(c, "silo")["deploy"]!["replicas"] = 1), Root));
        AssertReports("broker host 'localhost'", ComposeChecks.Wiring(Mutate(c => Service(c, "producer")["environment"]!["KAFKA_BOOTSTRAP"] = "localhost:9092"), Root));
        AssertReports("differ from the PostgreSQL service", ComposeChecks.Wiring(Mutate(c =>
            Service(c, "silo")["environment"]!["Postgres__ConnectionString"] = "Host=postgres;Username=postgres;Password=x;Database=analytics"), Root));
        AssertReports("one named volume", ComposeChecks.Wiring(Mutate(c => Service(c, "webapi")["volumes"] = new JsonArray("other:/data/models:rw")), Root));
        AssertReports("no health check", ComposeChecks.Wiring(Mutate(c => Service(c, "producer").Remove("healthcheck")), Root));
        AssertReports("a port of Urls", ComposeChecks.Wiring(Mutate(c => Service(c, "silo")["healthcheck"]!["test"] = new JsonArray("CMD", "/usr/local/bin/healthcheck.sh", "http", "9999", "/health/ready")), Root));
        AssertReports("service_completed_successfully", ComposeChecks.Wiring(Mutate(c => Service(c, "silo")["depends_on"]!.AsObject().Remove("kafka-init")), Root));
    }

    private JsonObject Mutate(Action<JsonObject> change)
    {
        var config = compose.Interpolated;
        change(config);
        return config;
    }

    private string WriteVariant(Func<string, string> change)
    {
        var original = File.ReadAllText(ComposeFile.Path);
        var changed = change(original);
        Assert.NotEqual(original, changed);
        // Relative paths still resolve against the repository: ComposeFile.Run passes --project-directory.
        var path = Path.Combine(_scratch, ComposeFile.FileName);
        File.WriteAllText(path, changed);
        return path;
    }

    private async Task<(int ExitCode, string Error)> RunProducerAsync(IReadOnlyList<string> command)
    {
        // The compose command, writing one event to a file instead of sending: parsing and validation are the real ones.
        var output = Path.Combine(_scratch, "events.ndjson");
        using var error = new StringWriter();
        var exitCode = await ProducerCli.RunAsync([.. command, "--output", output, "--events", "1", "--quiet"], TextWriter.Null, error, CancellationToken.None);
        return (exitCode, error.ToString());
    }

    private static void AssertNoProblems(IReadOnlyList<string> problems)
        => Assert.True(problems.Count == 0, "problems:\n  " + string.Join("\n  ", problems));

    private static void AssertReports(string expected, IReadOnlyList<string> problems)
        => Assert.True(problems.Any(p => p.Contains(expected, StringComparison.Ordinal)),
            $"expected a problem mentioning '{expected}'; got:\n  " + (problems.Count == 0 ? "(none)" : string.Join("\n  ", problems)));
}
