using System.Buffers.Binary;

namespace Analytics.Producer.Simulation;

/// <summary>
/// RFC 9562 UUID version 7 from a given Unix time and seeded random bits. <see cref="Guid.CreateVersion7()"/> draws its
/// random part from the OS, which would make the simulator's output irreproducible.
/// </summary>
public static class UuidV7
{
    /// <summary>48-bit millisecond timestamp, version 7, 12 + 62 random bits, RFC variant.</summary>
    public static Guid Create(long unixTimeMilliseconds, RandomSource random)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(unixTimeMilliseconds);
        Span<byte> bytes = stackalloc byte[16];
        var r1 = random.NextUInt64();
        var r2 = random.NextUInt64();
        // Bytes 0–5: timestamp; 6–7: version nibble + 12 random bits; 8–15: variant bits 10 + 62 random bits.
        BinaryPrimitives.WriteUInt64BigEndian(bytes, ((ulong)unixTimeMilliseconds << 16) | 0x7000UL | (r1 & 0x0FFFUL));
        BinaryPrimitives.WriteUInt64BigEndian(bytes[8..], (r2 & 0x3FFF_FFFF_FFFF_FFFFUL) | 0x8000_0000_0000_0000UL);
        return new Guid(bytes, bigEndian: true);
    }

    /// <summary>The Unix millisecond timestamp carried by a version 7 UUID.</summary>
    public static long GetUnixTimeMilliseconds(Guid uuid)
    {
        Span<byte> bytes = stackalloc byte[16];
        uuid.TryWriteBytes(bytes, bigEndian: true, out _);
        return (long)(BinaryPrimitives.ReadUInt64BigEndian(bytes) >> 16);
    }
}
