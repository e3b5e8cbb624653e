using System.Reflection;

namespace Analytics.TestInfrastructure;

/// <summary>Finds the repository and the build output of its projects, wherever the tests run from.</summary>
public static class RepositoryPaths
{
    private const string SolutionFileName = "Analytics.sln";

    private static readonly Lazy<string> LazyRoot = new(FindRoot);

    /// <summary>The folder holding <c>Analytics.sln</c>, found by walking up from the test's output folder.</summary>
    public static string Root => LazyRoot.Value;

    /// <summary>
    /// The output folder of another project built the same way as the running tests, e.g.
    /// <c>BuildOutput("LocalBroker")</c> → <c>Root/LocalBroker/bin/Debug/net10.0</c>.
    /// </summary>
    /// <param name="projectFolder">The project's folder relative to <see cref="Root"/>.</param>
    public static string BuildOutput(string projectFolder)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(projectFolder);
        var (configuration, targetFramework) = TestBuildFlavour();
        return Path.Combine(Root, projectFolder, "bin", configuration, targetFramework);
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, SolutionFileName)))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException(
            $"No folder above '{AppContext.BaseDirectory}' holds {SolutionFileName}; run the tests from inside the repository.");
    }

    /// <summary>
    /// The test assembly runs from <c>…/bin/&lt;Configuration&gt;/&lt;TargetFramework&gt;/</c>; reading the path gives the
    /// configuration `dotnet test -c` actually used. The assembly attribute is the fallback for unusual output layouts.
    /// </summary>
    private static (string Configuration, string TargetFramework) TestBuildFlavour()
    {
        var frameworkDir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var configurationDir = frameworkDir.Parent;
        if (configurationDir?.Parent is { Name: "bin" } && frameworkDir.Name.StartsWith("net", StringComparison.Ordinal))
        {
            return (configurationDir.Name, frameworkDir.Name);
        }

        var configuration = typeof(RepositoryPaths).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration;
        return (string.IsNullOrEmpty(configuration) ? "Debug" : configuration, "net10.0");
    }
}
