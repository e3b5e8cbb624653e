using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;

namespace Analytics.StreamingBenchmark.Phases;

/// <summary>
/// This process holds two implicit subscribers of the user-events namespace: the streaming phase's
/// <c>CountingUserGrain</c> and, through the Silo project, the real <c>UserGrain</c>. Orleans finds grain classes in
/// every referenced assembly and builds its implicit subscriptions from them, so each silo of the benchmark removes the
/// other phase's subscriber, or every event would go to both.
/// </summary>
internal static class SiloGrainClasses
{
    /// <summary>Keeps <typeparamref name="TGrain"/> out of this silo's grain classes (and so out of its implicit subscriptions).</summary>
    public static ISiloBuilder Exclude<TGrain>(this ISiloBuilder silo) where TGrain : Grain
    {
        silo.Services.PostConfigure<GrainTypeOptions>(options => options.Classes.Remove(typeof(TGrain)));
        return silo;
    }
}
