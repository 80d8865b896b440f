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

    /// With `cooccurrence`, a second list per item: its top-L co-occurring items j by the number
    /// of training sessions holding both i and j (j != i, any order, once per session), with
    /// log score c(i, j) = log(1 + that count): the `session` candidate feature's source under
    /// `--next-session-source cooccurrence`. Empty otherwise.
    public let coOffsets: [Int32]
    public let coItems: [Int32]
    public let coLogScores: [Float]
    public var hasCooccurrence: Bool { !coOffsets.isEmpty }

    /// From sessions as flat `items` with `sessionOffsets` (count + 1 entries, as `SessionSet`).
    public init(sessionOffsets: [Int], items sessionItems: [Int32], itemCount: Int, followersPerItem L: Int,
                cooccurrence: Bool = false) {
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
        let top = Self.topLists(pairs: &pairs, itemCount: itemCount, L: L)
        offsets = top.offsets
        followers = top.items
        counts = top.counts
        logScores = top.counts.map { Float(Foundation.log1p(Double($0))) }
        shares = top.shares
        var header = [UInt64(L), UInt64(itemCount)]
        var bytes: [UInt8] = []
        header.withUnsafeMutableBytes { bytes.append(contentsOf: $0) }
        offsets.withUnsafeBytes { bytes.append(contentsOf: $0) }
        followers.withUnsafeBytes { bytes.append(contentsOf: $0) }
        counts.withUnsafeBytes { bytes.append(contentsOf: $0) }
        if cooccurrence {
            // Every ordered pair of a session's distinct items, once per session.
            var co: [UInt64] = []
            for s in 0..<max(0, sessionOffsets.count - 1) {
                let distinct = Array(Set(sessionItems[sessionOffsets[s]..<sessionOffsets[s + 1]])).sorted()
                for i in distinct { for j in distinct where j != i { co.append(UInt64(UInt32(i)) << 32 | UInt64(UInt32(j))) } }
            }
            let c = Self.topLists(pairs: &co, itemCount: itemCount, L: L)
            coOffsets = c.offsets
            coItems = c.items
            coLogScores = c.counts.map { Float(Foundation.log1p(Double($0))) }
            // Tagged, so a co-occurrence table never shares a checksum with a transitions-only one.
            bytes.append(contentsOf: Array("cooccurrence".utf8))
            coOffsets.withUnsafeBytes { bytes.append(contentsOf: $0) }
            coItems.withUnsafeBytes { bytes.append(contentsOf: $0) }
            c.counts.withUnsafeBytes { bytes.append(contentsOf: $0) }
        } else {
            coOffsets = []
            coItems = []
            coLogScores = []
        }
        checksum = StableHash.fnv1a(bytes: bytes)
    }

    /// Groups sorted (i << 32 | j) keys into per-item lists of the L most frequent j (ties:
    /// smaller j first), with counts and shares of all of i's pairs before the cut.
    private static func topLists(pairs: inout [UInt64], itemCount: Int, L: Int)
        -> (offsets: [Int32], items: [Int32], counts: [Float], shares: [Float]) {
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
        var offsets: [Int32] = [0], items: [Int32] = [], counts: [Float] = [], shares: [Float] = []
        offsets.reserveCapacity(itemCount + 1)
        for i in 0..<itemCount {
            // perItem[i] is in increasing j; a stable sort by count keeps smaller j first on ties.
            let top = perItem[i].enumerated().sorted { a, b in a.element.c != b.element.c ? a.element.c > b.element.c : a.offset < b.offset }.prefix(L)
            for (_, f) in top {
                items.append(f.j)
                counts.append(Float(f.c))
                shares.append(Float(f.c) / out[i])
            }
            offsets.append(Int32(items.count))
        }
        return (offsets, items, counts, shares)
    }

    /// Number of entries (sum of every item's kept followers).
    public var entryCount: Int { followers.count }

    /// The checksum as written in model files (16 hex digits).
    public var checksumHex: String { String(format: "%016llx", checksum) }

    /// The followers of `item` as an entry range into `followers`, `logScores`, `shares`.
    @inline(__always)
    public func range(of item: Int32) -> Range<Int> { Int(offsets[Int(item)])..<Int(offsets[Int(item) + 1]) }

    /// The co-occurring items of `item` as an entry range into `coItems`, `coLogScores`.
    @inline(__always)
    public func coRange(of item: Int32) -> Range<Int> { Int(coOffsets[Int(item)])..<Int(coOffsets[Int(item) + 1]) }
}
