import IRNSupport

/// The identity of a prepared data set as far as a model or a cluster run is concerned: a
/// hash of the item map (dense index -> original item id, in order) and the shard layout
/// (shard count and the training sessions per shard). Two data sets with the same item and
/// shard counts but other items, or the same items sharded otherwise, get different
/// fingerprints, so an actor, a checkpoint or a model from one is refused on the other
/// instead of training or scoring silently on the wrong items.
public enum DataFingerprint {
    /// 16 lowercase hex digits (FNV-1a 64 over a versioned byte layout, stable across machines).
    public static func compute(itemIds: [Int64], shardCount: Int, trainShardSizes: [Int]) -> String {
        var h = Hasher64()
        h.add(Array("irn-data-fingerprint-1".utf8))
        h.add(UInt64(itemIds.count))
        for id in itemIds { h.add(UInt64(bitPattern: id)) }
        h.add(UInt64(shardCount))
        for s in trainShardSizes { h.add(UInt64(s)) }
        let hex = String(h.value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// The error for a mismatch: both fingerprints and where each came from.
    public static func mismatch(_ what: String, expected: String, expectedSource: String,
                                found: String, foundSource: String) -> IRNError {
        IRNError("\(what): data fingerprint \(found) of \(foundSource) does not match \(expected) of \(expectedSource) (another prepared data set: other items or shards)")
    }

    /// FNV-1a over little-endian words, incrementally.
    private struct Hasher64 {
        var value: UInt64 = 0xCBF2_9CE4_8422_2325
        mutating func add(_ bytes: [UInt8]) {
            for b in bytes { value ^= UInt64(b); value &*= 0x0000_0100_0000_01B3 }
        }
        mutating func add(_ word: UInt64) {
            var k = word
            for _ in 0..<8 { value ^= k & 0xFF; value &*= 0x0000_0100_0000_01B3; k >>= 8 }
        }
    }
}

extension PreparedDataset {
    /// Sessions of the train split per shard (the layout the fingerprint and the cluster use).
    public var trainShardSizes: [Int] {
        var sizes = [Int](repeating: 0, count: shardCount)
        for s in 0..<train.count { sizes[shard(ofSession: s, in: train)] += 1 }
        return sizes
    }

    /// This data set's fingerprint (computed from the data, so sets prepared before
    /// dataset.json carried one get theirs on load).
    public var fingerprint: String {
        DataFingerprint.compute(itemIds: itemIds, shardCount: shardCount, trainShardSizes: trainShardSizes)
    }
}
