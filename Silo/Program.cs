using Analytics.Silo.Hosting;

if (args.Length > 0 && args[0] == RewindCommand.Verb)
{
    return await RewindCommand.RunAsync(args);
}

var builder = WebApplication.CreateBuilder(args);
builder.AddAnalyticsSilo();

var app = builder.Build();
app.MapSiloHealth();
await app.RunAsync();
return 0;
