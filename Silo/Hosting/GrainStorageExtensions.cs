using Npgsql;
using Orleans.Configuration;
using Orleans.Serialization;
using Orleans.Storage;

namespace Analytics.Silo.Hosting;

public static class GrainStorageExtensions
{
    /// <summary>
    /// A named Orleans ADO.NET grain storage on the analytics PostgreSQL (the shared <see cref="NpgsqlDataSource"/> of
    /// <c>AddAnalyticsStorage</c>), with Orleans' binary serializer: compact and exact for the [GenerateSerializer] state
    /// types (the default JSON serializer would not see their private setters).
    /// </summary>
    public static ISiloBuilder AddAnalyticsGrainStorage(this ISiloBuilder silo, string name)
        => silo.AddAdoNetGrainStorage(name, storage => storage.Configure<NpgsqlDataSource, Serializer>((o, dataSource, serializer) =>
        {
            o.Invariant = "Npgsql";
            o.DataSource = dataSource;
            o.GrainStorageSerializer = new OrleansGrainStorageSerializer(serializer);
        }));
}
