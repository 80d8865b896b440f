/// FNV-1a over the little-endian bytes of a 64-bit key: stable across runs, machines and
/// Swift versions (unlike `Hasher`, which is seeded per process). Used for shard assignment.
public enum StableHash {
    @inline(__always)
    public static func fnv1a(_ key: UInt64) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        var k = key
        for _ in 0..<8 {
            h ^= k & 0xFF
            h &*= 0x0000_0100_0000_01B3
            k >>= 8
        }
        return h
    }

    /// FNV-1a over raw bytes.
    public static func fnv1a<C: Collection>(bytes: C) -> UInt64 where C.Element == UInt8 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in bytes {
            h ^= UInt64(b)
            h &*= 0x0000_0100_0000_01B3
        }
        return h
    }

    /// The shard of a session id among `shards` shards.
    @inline(__always)
    public static func shard(ofSession id: Int64, shards: Int) -> Int {
        Int(fnv1a(UInt64(bitPattern: id)) % UInt64(shards))
    }
}
