using Analytics.LocalBroker.Api;
using Analytics.LocalBroker.Hosting;

// Development Kafka broker: librdkafka's mock cluster in this process, plus an HTTP control API.
// The content root is the app's folder, so appsettings.json applies wherever it is started from.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.AddLocalBroker(args);

var app = builder.Build();
app.MapLocalBrokerControlApi();

return await app.RunLocalBrokerAsync();
