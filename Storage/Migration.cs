using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Analytics.Storage;

/// <summary>One embedded <c>Migrations/NNN_name.sql</c> file.</summary>
/// <param name="Version">NNN: the order of application and the key in <c>schema_migrations</c>.</param>
/// <param name="Name">The file name, e.g. <c>001_orleans_adonet.sql</c>.</param>
/// <param name="Sql">The script, with line endings normalised to LF.</param>
/// <param name="Checksum">SHA-256 of <paramref name="Sql"/> in lower-case hex.</param>
internal sealed partial record Migration(int Version, string Name, string Sql, string Checksum)
{
    private const string ResourcePrefix = "Migrations/";

    /// <summary>Every embedded migration, in order. Line endings are normalised first so that a checkout with CRLF
    /// line endings does not look like an edited migration.</summary>
    public static IReadOnlyList<Migration> LoadEmbedded()
    {
        var assembly = typeof(Migration).Assembly;
        var migrations = new List<Migration>();
        foreach (var resource in assembly.GetManifestResourceNames())
        {
            if (!resource.StartsWith(ResourcePrefix, StringComparison.Ordinal))
            {
                continue;
            }

            var name = resource[ResourcePrefix.Length..];
            var match = FileNamePattern().Match(name);
            if (!match.Success)
            {
                throw new InvalidOperationException($"Embedded migration '{name}' is not named NNN_name.sql.");
            }

            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
            var sql = reader.ReadToEnd().Replace("\r\n", "\n", StringComparison.Ordinal);
            var checksum = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sql)));
            migrations.Add(new Migration(int.Parse(match.Groups[1].ValueSpan, CultureInfo.InvariantCulture), name, sql, checksum));
        }

        migrations.Sort((a, b) => a.Version.CompareTo(b.Version));
        for (var i = 1; i < migrations.Count; i++)
        {
            if (migrations[i].Version == migrations[i - 1].Version)
            {
                throw new InvalidOperationException(
                    $"Migrations {migrations[i - 1].Name} and {migrations[i].Name} share the version {migrations[i].Version}.");
            }
        }

        return migrations;
    }

    [GeneratedRegex(@"^([0-9]+)_[A-Za-z0-9_]+\.sql$")]
    private static partial Regex FileNamePattern();
}
