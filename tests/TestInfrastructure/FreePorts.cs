using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Analytics.TestInfrastructure;

/// <summary>
/// TCP ports for servers a test starts, so that tests running in parallel (and a pipeline a developer has running)
/// never meet on the well-known ports.
/// </summary>
public static class FreePorts
{
    // Below Linux's ephemeral range (32768-60999): a port handed out there can be taken by any outgoing connection's
    // local end (tests open thousands, to PostgreSQL and Kafka) between the moment it is picked and the server's bind.
    private const int First = 20_000;
    private const int Last = 32_000;
    private static readonly HashSet<int> Given = [];

    /// <summary>A loopback port outside the ephemeral range that was free a moment ago and was not handed out before by this process.</summary>
    public static int Next()
    {
        lock (Given)
        {
            for (var attempt = 0; attempt < 1_000; attempt++)
            {
                var port = Random.Shared.Next(First, Last);
                if (Given.Contains(port) || !IsFree(port)) continue;
                Given.Add(port);
                return port;
            }
        }

        throw new InvalidOperationException($"No free loopback port in [{First}, {Last}).");
    }

    /// <summary>
    /// The first of <paramref name="count"/> consecutive ports that were all free a moment ago and none handed out
    /// before (for a service whose instance i takes the base port + i - 1).
    /// </summary>
    public static int Consecutive(int count)
    {
        lock (Given)
        {
            for (var attempt = 0; attempt < 1_000; attempt++)
            {
                var port = Random.Shared.Next(First, Last - count);
                if (!Enumerable.Range(port, count).All(p => !Given.Contains(p) && IsFree(p))) continue;
                Given.UnionWith(Enumerable.Range(port, count));
                return port;
            }
        }

        throw new InvalidOperationException($"No {count} consecutive free loopback ports in [{First}, {Last}).");
    }

    /// <summary><see cref="Consecutive"/> as text.</summary>
    public static string ConsecutiveAsText(int count) => Consecutive(count).ToString(CultureInfo.InvariantCulture);

    /// <summary><see cref="Next"/> as text, for configuration values.</summary>
    public static string NextAsText() => Next().ToString(CultureInfo.InvariantCulture);

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
