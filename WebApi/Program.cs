using Analytics.Dashboard;
using Analytics.WebApi.Apis;
using Analytics.WebApi.Hosting;

var builder = WebApplication.CreateBuilder(args);
builder.AddWebApi();

var app = builder.Build();
app.UseWebApi();
app.UseDashboard();
app.MapWebApiHealth();
app.MapIngestionApi();
app.MapFunnelApi();
app.MapChurnApi();
app.MapAdminApi();

await app.RunAsync();

/// <summary>Entry point; public so that tests can host the web API.</summary>
public partial class Program;
