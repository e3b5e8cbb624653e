using Analytics.Silo.Hosting;

var builder = WebApplication.CreateBuilder(args);
builder.AddAnalyticsSilo();

var app = builder.Build();
app.MapSiloHealth();
await app.RunAsync();
