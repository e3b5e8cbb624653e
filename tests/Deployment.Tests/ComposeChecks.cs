using System.Text.Json.Nodes;
using Npgsql;
using static Analytics.Deployment.Tests.ComposeModel;

namespace Analytics.Deployment.Tests;

/// <summary>
/// Checks over the resolved compose file. Each returns the problems it finds (empty = fine), so that a test can also
/// feed it a broken copy and see it complain.
/// </summary>
public static class ComposeChecks
{
    /// <summary>Published images the file may pull, by repository: an explicit list, each with a pinned tag.</summary>
    public static readonly IReadOnlySet<string> PublishedImages = new HashSet<string>(StringComparer.Ordinal) { "apache/kafka", "postgres" };

    /// <summary>Every <c>build:</c> names a context and Dockerfile in the repository, of a .NET service project; every other service pulls an allowed image with a pinned tag.</summary>
    public static IReadOnlyList<string> ImagesAndBuilds(JsonObject config, string repositoryRoot)
    {
        var problems = new List<string>();
        foreach (var (name, service) in Services(config))
        {
            if (service["build"] is JsonObject build)
            {
                var context = Path.GetFullPath(Text(build["context"]) ?? ".", repositoryRoot);
                if (!Directory.Exists(context)) problems.Add($"{name}: build context {context} does not exist");
                else if (!File.Exists(Path.Combine(context, "Directory.Packages.props")))
                    problems.Add($"{name}: build context {context} is not the repository root (the build needs Directory.Build.props, Directory.Packages.props and global.json)");
                var dockerfile = DockerfileOf(service, repositoryRoot)!;
                var folder = ProjectFolderOf(dockerfile);
                if (!File.Exists(Path.Combine(repositoryRoot, dockerfile))) problems.Add($"{name}: Dockerfile {dockerfile} does not exist");
                else if (ServiceContract.ForProjectFolder(folder) is not { } contract)
                    problems.Add($"{name}: {dockerfile} is not in the folder of a .NET service (one of {string.Join(", ", ServiceContract.All.Select(c => c.ProjectFolder))})");
                else
                    problems.AddRange(DockerfileChecks.Check(File.ReadAllText(Path.Combine(repositoryRoot, dockerfile)), contract.ProjectFolder, contract.Assembly, repositoryRoot)
                        .Select(p => $"{name}: {p}"));
                continue;
            }

            var image = Text(service["image"]);
            if (image is null)
            {
                problems.Add($"{name}: neither build nor image");
                continue;
            }

            var slash = image.LastIndexOf('/');
            var colon = image.LastIndexOf(':');
            var repository = colon > slash ? image[..colon] : image;
            var tag = colon > slash ? image[(colon + 1)..] : null;
            if (!PublishedImages.Contains(repository))
                problems.Add($"{name}: image '{image}' is neither built here nor one of the published images allowed ({string.Join(", ", PublishedImages)})");
            if (tag is null or "latest") problems.Add($"{name}: image '{image}' has no pinned tag");
        }

        // Files mounted from the repository (e.g. the topic script) exist.
        foreach (var (name, service) in Services(config))
        {
            foreach (var volume in Strings(service["volumes"]))
            {
                var source = volume.Split(':')[0];
                if (source.StartsWith('/') && !File.Exists(source) && !Directory.Exists(source)) problems.Add($"{name}: mounted path {source} does not exist");
            }
        }

        return problems;
    }

    /// <summary>Every environment variable of a .NET service is a setting it reads (<see cref="ServiceContract.Check"/>).</summary>
    public static IReadOnlyList<string> Settings(JsonObject config, string repositoryRoot)
    {
        var problems = new List<string>();
        foreach (var (name, service) in Services(config))
        {
            if (service["build"] is null) continue;
            var contract = ServiceContract.ForProjectFolder(ProjectFolderOf(DockerfileOf(service, repositoryRoot)));
            if (contract is null)
            {
                problems.Add($"{name}: built from no known .NET service, so its settings cannot be checked");
                continue;
            }

            problems.AddRange(contract.Check(name, Environment(service)));
        }

        return problems;
    }

    /// <summary>
    /// The services agree with each other: one topic and partition count, brokers and database that are services of
    /// the file, the same Orleans cluster in PostgreSQL, a shared model volume, several silo replicas, health checks.
    /// </summary>
    public static IReadOnlyList<string> Wiring(JsonObject config, string repositoryRoot)
    {
        var problems = new List<string>();
        var services = Services(config).ToDictionary(s => s.Name, s => s.Service);
        string? Env(string service, string key) => services.TryGetValue(service, out var s) ? Environment(s).GetValueOrDefault(key) : null;
        string? ByProject(string folder) => services.Keys.FirstOrDefault(n => ProjectFolderOf(DockerfileOf(services[n], repositoryRoot)) == folder);

        var silo = ByProject("Silo");
        var webapi = ByProject("WebApi");
        var producer = ByProject("Producer");
        var topicInit = services.Keys.FirstOrDefault(n => Environment(services[n]).ContainsKey("KAFKA_PARTITIONS") && services[n]["build"] is null);
        if (silo is null || webapi is null || producer is null || topicInit is null)
        {
            problems.Add($"expected a silo, a web API, a producer and a topic-creating service; found silo={silo}, webapi={webapi}, producer={producer}, topic init={topicInit}");
            return problems;
        }

        // One topic, and the silos' partition count equal to the topic's.
        var producerCommand = Strings(services[producer]["command"]);
        var producerTopicIndex = producerCommand.ToList().IndexOf("--topic");
        var topics = new Dictionary<string, string?>
        {
            [$"{topicInit} KAFKA_TOPIC"] = Env(topicInit, "KAFKA_TOPIC"),
            [$"{silo} Kafka__Topic"] = Env(silo, "Kafka__Topic"),
            [$"{webapi} Kafka__Topic"] = Env(webapi, "Kafka__Topic"),
            [$"{producer} --topic"] = producerTopicIndex >= 0 && producerTopicIndex + 1 < producerCommand.Count ? producerCommand[producerTopicIndex + 1] : null,
        };
        if (topics.Values.Distinct().Count() != 1 || topics.Values.Any(v => v is null))
            problems.Add($"the services name different topics: {string.Join(", ", topics.Select(t => $"{t.Key}={t.Value ?? "(unset)"}"))}");
        if (Env(topicInit, "KAFKA_PARTITIONS") != Env(silo, "Kafka__Partitions"))
            problems.Add($"{topicInit} creates {Env(topicInit, "KAFKA_PARTITIONS")} partitions but {silo} has Kafka__Partitions={Env(silo, "Kafka__Partitions") ?? "(unset)"}");

        // Brokers and database are services of this file.
        foreach (var (service, key) in new[] { (silo, "Kafka__BootstrapServers"), (webapi, "Kafka__BootstrapServers"), (producer, "KAFKA_BOOTSTRAP"), (topicInit, "KAFKA_BOOTSTRAP") })
        {
            var value = Env(service, key);
            if (value is null)
            {
                problems.Add($"{service}: {key} is not set");
                continue;
            }

            foreach (var host in value.Split(',').Select(b => b.Split(':')[0]))
            {
                if (!services.ContainsKey(host)) problems.Add($"{service}: {key} names broker host '{host}', which is no service of the file");
            }
        }

        var postgres = services.Keys.FirstOrDefault(n => Environment(services[n]).ContainsKey("POSTGRES_PASSWORD"));
        foreach (var service in new[] { silo, webapi })
        {
            var text = Env(service, "Postgres__ConnectionString");
            if (text is null || postgres is null)
            {
                problems.Add($"{service}: Postgres__ConnectionString is not set, or no service runs PostgreSQL");
                continue;
            }

            var connection = new NpgsqlConnectionStringBuilder(text);
            var pg = Environment(services[postgres]);
            if (connection.Host != postgres) problems.Add($"{service}: the connection string's Host '{connection.Host}' is not the PostgreSQL service '{postgres}'");
            if (connection.Username != pg.GetValueOrDefault("POSTGRES_USER") || connection.Password != pg.GetValueOrDefault("POSTGRES_PASSWORD")
                || connection.Database != pg.GetValueOrDefault("POSTGRES_DB"))
                problems.Add($"{service}: the connection string's user, password or database differ from the PostgreSQL service's POSTGRES_USER/POSTGRES_PASSWORD/POSTGRES_DB");
        }

        // One Orleans cluster with membership in PostgreSQL, found by the web API there too.
        foreach (var key in new[] { "Orleans__Membership", "Orleans__ClusterId", "Orleans__ServiceId" })
        {
            if (Env(silo, key) != Env(webapi, key)) problems.Add($"{key} differs: {silo}={Env(silo, key) ?? "(unset)"}, {webapi}={Env(webapi, key) ?? "(unset)"}");
        }

        if (!string.Equals(Env(silo, "Orleans__Membership"), "AdoNet", StringComparison.OrdinalIgnoreCase))
            problems.Add($"{silo}: Orleans__Membership must be AdoNet (membership in PostgreSQL) for several silos; it is {Env(silo, "Orleans__Membership") ?? "unset (Localhost)"}");

        // Several silos: replicas, so no fixed container name or host port.
        var replicas = int.TryParse(Text(services[silo]["deploy"]?["replicas"]) ?? Text(services[silo]["scale"]), out var r) ? r : 1;
        if (replicas < 2) problems.Add($"{silo}: {replicas} replica(s); the deployment runs several silos (deploy.replicas)");
        if (services[silo]["container_name"] is not null || services[silo]["ports"] is not null)
            problems.Add($"{silo}: container_name or host ports stop it from running as several replicas");

        // The churn model: the web API writes it, every silo reads it, from the same named volume.
        var modelDirectories = new[] { silo, webapi }.Select(s => Env(s, "Churn__ModelDirectory")).Distinct().ToList();
        if (modelDirectories.Count != 1 || modelDirectories[0] is null)
        {
            problems.Add($"Churn__ModelDirectory differs between {silo} and {webapi} (or is unset)");
        }
        else
        {
            var mounts = new[] { silo, webapi }.Select(s => Strings(services[s]["volumes"]).Select(v => v.Split(':')).FirstOrDefault(v => v.Length >= 2 && v[1] == modelDirectories[0])?[0]).ToList();
            var volumeNames = config["volumes"]?.AsObject().Select(p => p.Key).ToHashSet() ?? [];
            if (mounts.Distinct().Count() != 1 || mounts[0] is null || !volumeNames.Contains(mounts[0]!))
                problems.Add($"{silo} and {webapi} must mount one named volume on {modelDirectories[0]}; found {string.Join(", ", mounts.Select(m => m ?? "none"))}");
        }

        // Start order: the topic and the database before the silos, the silos before the web API.
        void Needs(string service, string dependency, string condition)
        {
            var actual = Text(services[service]["depends_on"]?[dependency]?["condition"]);
            if (actual != condition) problems.Add($"{service}: depends_on {dependency} should be {condition} (is {actual ?? "missing"})");
        }

        Needs(silo, topicInit, "service_completed_successfully");
        Needs(silo, postgres ?? "postgres", "service_healthy");
        Needs(webapi, silo, "service_healthy");
        Needs(producer, topicInit, "service_completed_successfully");

        // Health checks on every long-running service; the .NET ones ask a port their Urls listen on.
        foreach (var (name, service) in services)
        {
            if (name == topicInit) continue;
            var test = Strings(service["healthcheck"]?["test"]);
            if (test.Count < 2 || test[0] is not ("CMD" or "CMD-SHELL"))
            {
                problems.Add($"{name}: no health check");
                continue;
            }

            var urls = Environment(service).GetValueOrDefault("Urls");
            if (urls is null) continue;
            var ports = urls.Split(';').Select(u => new Uri(u).Port.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToHashSet();
            if (test.Count < 5 || test[2] != "http" || !ports.Contains(test[3]) || !test[4].StartsWith("/health/", StringComparison.Ordinal))
                problems.Add($"{name}: the health check should ask /health/ready on a port of Urls ({urls}); it runs {string.Join(' ', test)}");
        }

        return problems;
    }
}
