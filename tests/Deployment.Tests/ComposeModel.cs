using System.Text.Json;
using System.Text.Json.Nodes;

namespace Analytics.Deployment.Tests;

/// <summary>Reading helpers over docker-compose's resolved configuration (as JSON).</summary>
public static class ComposeModel
{
    public static IEnumerable<(string Name, JsonObject Service)> Services(JsonObject config)
        => config["services"]?.AsObject().Select(p => (p.Key, p.Value!.AsObject())) ?? [];

    public static JsonObject Service(JsonObject config, string name)
        => config["services"]?[name]?.AsObject() ?? throw new InvalidOperationException($"{ComposeFile.FileName} has no service '{name}'");

    /// <summary>A scalar as text (YAML gives numbers and booleans too); null when absent.</summary>
    public static string? Text(JsonNode? node) => node switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        JsonValue v when v.GetValueKind() is JsonValueKind.True or JsonValueKind.False => v.GetValue<bool>() ? "true" : "false",
        JsonValue v => v.ToJsonString(),
        _ => node.ToJsonString(),
    };

    /// <summary>The service's environment (docker-compose config always prints it as a map).</summary>
    public static IReadOnlyDictionary<string, string> Environment(JsonObject service)
        => service["environment"]?.AsObject().ToDictionary(p => p.Key, p => Text(p.Value) ?? "", StringComparer.Ordinal)
           ?? new Dictionary<string, string>(StringComparer.Ordinal);

    public static IReadOnlyList<string> Strings(JsonNode? node) => node switch
    {
        null => [],
        JsonArray a => a.Select(n => Text(n) ?? "").ToList(),
        _ => [Text(node) ?? ""],
    };

    /// <summary>The Dockerfile a service is built from, relative to the repository (e.g. <c>Silo/Dockerfile</c>), or null.</summary>
    public static string? DockerfileOf(JsonObject service, string repositoryRoot)
    {
        if (service["build"] is not JsonObject build) return null;
        var context = Text(build["context"]) ?? ".";
        var dockerfile = Text(build["dockerfile"]) ?? "Dockerfile";
        var full = Path.GetFullPath(Path.Combine(Path.GetFullPath(context, repositoryRoot), dockerfile));
        return Path.GetRelativePath(repositoryRoot, full).Replace('\\', '/');
    }

    /// <summary>The folder of the project a Dockerfile builds: <c>Silo/Dockerfile</c> → <c>Silo</c>.</summary>
    public static string? ProjectFolderOf(string? dockerfile)
        => dockerfile is null ? null : Path.GetDirectoryName(dockerfile)?.Replace('\\', '/');
}
