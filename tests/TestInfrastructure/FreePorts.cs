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
    /// <summary>A loopback port that was free a moment ago (the OS hands out ephemeral ports round-robin, so a reuse race is unlikely).</summary>
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary><see cref="Next"/> as text, for configuration values.</summary>
    public static string NextAsText() => Next().ToString(CultureInfo.InvariantCulture);
}
