using System.Reflection;
using System.Runtime.InteropServices;

namespace Analytics.LocalBroker.Native;

/// <summary>
/// Resolves <see cref="LibrdkafkaNative.LibraryName"/> to the same native file Confluent.Kafka uses.
/// </summary>
/// <remarks>
/// librdkafka.redist ships several Linux builds side by side in <c>runtimes/linux-x64/native</c>. The plain
/// <c>librdkafka.so</c> needs <c>libsasl2.so.3</c>, which Debian does not have; Confluent.Kafka then silently loads
/// <c>centos8-librdkafka.so</c>. Default P/Invoke probing knows nothing of that fallback, so this resolver tries the
/// same files in the same order, and only then the standard probing.
/// </remarks>
internal static class LibrdkafkaLoader
{
    private static readonly Lock Gate = new();
    private static bool _registered;
    private static string? _loadedFrom;

    /// <summary>The file the library was loaded from, once a native call has been made.</summary>
    public static string? LoadedFrom
    {
        get
        {
            lock (Gate)
            {
                return _loadedFrom;
            }
        }
    }

    /// <summary>Installs the resolver for this assembly; safe to call more than once.</summary>
    public static void EnsureRegistered()
    {
        lock (Gate)
        {
            if (_registered)
            {
                return;
            }

            NativeLibrary.SetDllImportResolver(typeof(LibrdkafkaLoader).Assembly, Resolve);
            _registered = true;
        }
    }

    private static nint Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (libraryName != LibrdkafkaNative.LibraryName)
        {
            return 0;
        }

        var failures = new List<string>();
        foreach (var candidate in CandidatePaths())
        {
            if (!File.Exists(candidate))
            {
                continue;
            }

            try
            {
                var handle = NativeLibrary.Load(candidate);
                Remember(candidate);
                return handle;
            }
            catch (DllNotFoundException ex)
            {
                // Typically "libsasl2.so.3: cannot open shared object file"; try the next build.
                failures.Add($"{candidate}: {ex.Message}");
            }
        }

        if (NativeLibrary.TryLoad(libraryName, assembly, searchPath, out var probed))
        {
            Remember(libraryName + " (standard probing)");
            return probed;
        }

        failures.Add($"{libraryName}: not found by standard probing");
        throw new DllNotFoundException(
            "Could not load librdkafka for the mock cluster. Tried:" + Environment.NewLine +
            string.Join(Environment.NewLine, failures));
    }

    private static void Remember(string path)
    {
        lock (Gate)
        {
            _loadedFrom = path;
        }
    }

    private static IEnumerable<string> CandidatePaths()
    {
        var directories = new[]
            {
                AppContext.BaseDirectory,
                Path.GetDirectoryName(typeof(Confluent.Kafka.Library).Assembly.Location),
            }
            .Where(directory => !string.IsNullOrEmpty(directory))
            .Select(directory => Path.GetFullPath(directory!))
            .Distinct(StringComparer.Ordinal);

        var runtime = RuntimeFolder();
        foreach (var directory in directories)
        {
            foreach (var fileName in FileNames())
            {
                yield return Path.Combine(directory, "runtimes", runtime, "native", fileName);
                yield return Path.Combine(directory, fileName);
            }
        }
    }

    private static string RuntimeFolder()
    {
        var architecture = RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant();
        var os = OperatingSystem.IsWindows() ? "win" : OperatingSystem.IsMacOS() ? "osx" : "linux";
        return $"{os}-{architecture}";
    }

    private static string[] FileNames()
    {
        if (OperatingSystem.IsWindows())
        {
            return ["librdkafka.dll"];
        }

        if (OperatingSystem.IsMacOS())
        {
            return ["librdkafka.dylib"];
        }

        // Same order as Confluent.Kafka: the full build first, then the one without SASL/GSSAPI dependencies.
        return RuntimeInformation.RuntimeIdentifier.Contains("musl", StringComparison.Ordinal)
            ? ["alpine-librdkafka.so", "librdkafka.so"]
            : ["librdkafka.so", "centos8-librdkafka.so"];
    }
}
