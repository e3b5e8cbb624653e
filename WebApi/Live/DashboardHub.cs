using Microsoft.AspNetCore.SignalR;

namespace Analytics.WebApi.Live;

/// <summary>
/// The dashboards' hub: server-to-client only (<see cref="DashboardHubContract"/>). A new connection gets the current
/// picture at once; afterwards <see cref="DashboardBroadcaster"/> pushes what changes.
/// </summary>
public sealed class DashboardHub(DashboardState state) : Hub
{
    public override async Task OnConnectedAsync()
    {
        await Clients.Caller.SendAsync(DashboardHubContract.Snapshot, state.Snapshot(), Context.ConnectionAborted);
        await base.OnConnectedAsync();
    }
}
