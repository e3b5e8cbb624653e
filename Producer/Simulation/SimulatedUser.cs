using System.Globalization;
using System.Text;

namespace Analytics.Producer.Simulation;

/// <summary>One simulated user: fixed traits, the session being played out, and the running truth counters.</summary>
internal sealed class SimulatedUser
{
    public SimulatedUser(int index, Persona persona, RandomSource random)
    {
        Index = index;
        Id = "user_" + (index + 1).ToString(CultureInfo.InvariantCulture);
        Key = Encoding.UTF8.GetBytes(Id);
        Persona = persona;
        Random = random;
    }

    public int Index { get; }

    public string Id { get; }

    /// <summary>UTF-8 of <see cref="Id"/>: the Kafka key, encoded once.</summary>
    public byte[] Key { get; }

    public Persona Persona { get; }

    /// <summary>This user's own random stream: a user behaves the same whatever the number of users.</summary>
    public RandomSource Random { get; }

    public int FavouriteCategoryA { get; set; }

    public int FavouriteCategoryB { get; set; }

    /// <summary>Mean time between the end of a session and the start of the next, in ms.</summary>
    public double MeanSessionGapMs { get; set; }

    /// <summary>Start of the decay of activity (long.MaxValue: never).</summary>
    public long ChurnOnsetMs { get; set; } = long.MaxValue;

    /// <summary>No event at or after this time (long.MaxValue: never churns).</summary>
    public long ChurnTimeMs { get; set; } = long.MaxValue;

    /// <summary>The events of the current session, played out in order.</summary>
    public List<SimulatedEvent> Session { get; } = [];

    public int SessionPosition { get; set; }

    public bool HasPendingEvent => SessionPosition < Session.Count;

    public long FirstEventMs { get; set; } = -1;

    public long LastEventMs { get; set; } = -1;

    public int Sessions { get; set; }

    public int Views { get; set; }

    public int AddToCarts { get; set; }

    public int Purchases { get; set; }

    public decimal Revenue { get; set; }
}
