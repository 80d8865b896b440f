import Foundation
import IRNSupport

/// Item-to-item transitions of a training split (docs/algorithm.md#repeat-next-head): for
/// each item i, its top-L followers j by the number of times j came right after i in the same
/// session (j != i; consecutive events, clicks and purchases alike), with
///   log score  s(i, j) = log(1 + count(i -> j))
///   share      p(j | i) = count(i -> j) / (all transitions out of i, before the top-L cut).
/// Built once from the sessions the agent trains on (never valid/test); the same sessions
/// give the same table bit for bit, and `checksum` identifies it in model files and in the
/// cluster's welcome. Immutable, so one table is shared by every tracker and thread.
public final class TransitionTable: Sendable {
    public let items: Int
    /// L: the most followers kept per item.
    public let followersPerItem: Int
    /// Item i's followers are `followers[offsets[i] ..< offsets[i + 1]]`, most frequent first
    /// (ties: smaller item id first); `items + 1` offsets.
    public let offsets: [Int32]
    public let followers: [Int32]
    public let counts: [Float]
    public let logScores: [Float]
    public let shares: [Float]
    /// FNV-1a over L, N, offsets, followers and counts.
    public let checksum: UInt64

    /// From sessions as flat `items` with `sessionOffsets` (count + 1 entries, as `SessionSet`).
    public init(sessionOffsets: [Int], items sessionItems: [Int32], itemCount: Int, followersPerItem L: Int) {
        precondition(itemCount > 0 && L > 0, "a transition table needs items and L >= 1")
        items = itemCount
        followersPerItem = L
        // Every consecutive pair as one key (i << 32 | j); sorting groups equal pairs.
        var pairs: [UInt64] = []
        pairs.reserveCapacity(sessionItems.count)
        for s in 0..<max(0, sessionOffsets.count - 1) {
            let lo = sessionOffsets[s], hi = sessionOffsets[s + 1]
            guard hi - lo >= 2 else { continue }
            for t in lo..<(hi - 1) {
                let i = sessionItems[t], j = sessionItems[t + 1]
                precondition(i >= 0 && Int(i) < itemCount && j >= 0 && Int(j) < itemCount, "item out of range in a transition")
                if i != j { pairs.append(UInt64(UInt32(i)) << 32 | UInt64(UInt32(j))) }
            }
        }
        pairs.sort()
        var out = [Float](repeating: 0, count: itemCount)
        var perItem = [[(j: Int32, c: Int)]](repeating: [], count: itemCount)
        var k = 0
        while k < pairs.count {
            var e = k + 1
            while e < pairs.count && pairs[e] == pairs[k] { e += 1 }
            let i = Int(pairs[k] >> 32), j = Int32(truncatingIfNeeded: pairs[k] & 0xFFFF_FFFF)
            perItem[i].append((j, e - k))
            out[i] += Float(e - k)
            k = e
        }
        var offsets: [Int32] = [0], followers: [Int32] = [], counts: [Float] = [], logScores: [Float] = [], shares: [Float] = []
        offsets.reserveCapacity(itemCount + 1)
        for i in 0..<itemCount {
            // perItem[i] is in increasing j; a stable sort by count keeps smaller j first on ties.
            let top = perItem[i].enumerated().sorted { a, b in a.element.c != b.element.c ? a.element.c > b.element.c : a.offset < b.offset }.prefix(L)
            for (_, f) in top {
                followers.append(f.j)
                counts.append(Float(f.c))
                logScores.append(Float(Foundation.log1p(Double(f.c))))
                shares.append(Float(f.c) / out[i])
            }
            offsets.append(Int32(followers.count))
        }
        self.offsets = offsets
        self.followers = followers
        self.counts = counts
        self.logScores = logScores
        self.shares = shares
        var header = [UInt64(L), UInt64(itemCount)]
        var bytes: [UInt8] = []
        header.withUnsafeMutableBytes { bytes.append(contentsOf: $0) }
        offsets.withUnsafeBytes { bytes.append(contentsOf: $0) }
        followers.withUnsafeBytes { bytes.append(contentsOf: $0) }
        counts.withUnsafeBytes { bytes.append(contentsOf: $0) }
        checksum = StableHash.fnv1a(bytes: bytes)
    }

    /// Number of entries (sum of every item's kept followers).
    public var entryCount: Int { followers.count }

    /// The checksum as written in model files (16 hex digits).
    public var checksumHex: String { String(format: "%016llx", checksum) }

    /// The followers of `item` as an entry range into `followers`, `logScores`, `shares`.
    @inline(__always)
    public func range(of item: Int32) -> Range<Int> { Int(offsets[Int(item)])..<Int(offsets[Int(item) + 1]) }
}
