using Analytics.Dashboard;
using Analytics.WebApi.Apis;
using Analytics.WebApi.Hosting;
using Analytics.WebApi.Live;

var builder = WebApplication.CreateBuilder(args);
builder.AddWebApi();

var app = builder.Build();
app.UseWebApi();
app.UseDashboard();
app.MapWebApiHealth();
app.MapApiDocument();
app.MapIngestionApi();
app.MapFunnelApi();
app.MapKpiApi();
app.MapUsersApi();
app.MapChurnApi();
app.MapAdminApi();
app.MapDashboardHub();

await app.RunAsync();

/// <summary>Entry point; public so that tests can host the web API.</summary>
public partial class Program;
