import Foundation

/// The four per-candidate features of the repeat-next head (docs/algorithm.md#repeat-next-head)
/// for items NOT in the current session prefix that a transition of the table reaches from
/// one of the prefix's items (with `--next-session-source cooccurrence` also a co-occurrence);
/// every other item has all four 0. With s(i, j) = log(1 + count) and p(j | i) the share of
/// the table (`TransitionTable`), and `last` the item just fed:
public enum NextFeature: Int, CaseIterable, Sendable, Codable {
    /// s(last, j).
    case last = 0
    /// p(j | last).
    case share
    /// sum over the prefix's distinct items i of r_i * s(i, j), r_i = 1 / (1 + steps since i
    /// was last fed) (the repeat head's recency); with `--next-session-source cooccurrence`,
    /// of r_i * c(i, j), the co-occurrence score.
    case session
    /// 1 if j is one of last's kept followers, else 0.
    case follow

    /// Flag spelling (`--next-features`).
    public var name: String {
        switch self {
        case .last: return "last"
        case .share: return "share"
        case .session: return "session"
        case .follow: return "follow"
        }
    }

    public init?(name: String) {
        guard let f = NextFeature.allCases.first(where: { $0.name == name }) else { return nil }
        self = f
    }
}

/// Scratch for computing the candidates of one slot at a time: an N-wide position map (so
/// no per-element allocation and no N-wide pass per step) and the reached candidates' features.
/// Work per call is O(prefix items x L).
struct NextCandidates: Sendable, Equatable {
    let table: TransitionTable
    let lanes: SIMD4<Float>
    /// Per item: -1 not reached, -2 in the prefix (skipped), else its index in `reached`.
    private var position: [Int32]
    private var reached: [Int32] = []
    private var phi: [SIMD4<Float>] = []

    init(table: TransitionTable, lanes: SIMD4<Float>) {
        self.table = table
        self.lanes = lanes
        position = [Int32](repeating: -1, count: table.items)
    }

    /// Trackers compare by table and lanes (the scratch is empty between calls).
    static func == (a: NextCandidates, b: NextCandidates) -> Bool { a.table.checksum == b.table.checksum && a.lanes == b.lanes }

    /// The index of candidate j in `reached` (added with zero features when first reached),
    /// -1 for a prefix item.
    @inline(__always)
    private mutating func reach(_ j: Int32) -> Int {
        let p = Int(position[Int(j)])
        if p == -2 { return -1 }
        if p >= 0 { return p }
        position[Int(j)] = Int32(reached.count)
        reached.append(j)
        phi.append(.zero)
        return reached.count - 1
    }

    /// Calls `body(candidate, phi)` for every candidate reached from `prefix` (distinct items,
    /// in order of first appearance, each last fed at `lastStep`), in the order first reached:
    /// prefix order, then each item's followers by count (then, with co-occurrence, its
    /// co-occurring items by count). Deterministic, so training and scoring sum in the same order.
    mutating func forEach(prefix: [Int32], lastStep: [Int32], now: Int32, last: Int32, _ body: (Int32, SIMD4<Float>) -> Void) {
        guard last >= 0 else { return }
        for i in prefix { position[Int(i)] = -2 }
        let t = table
        // With a co-occurrence list, `session` sums its scores and transitions only serve the
        // last item's three features; otherwise `session` sums transition scores.
        let co = t.hasCooccurrence
        for (k, i) in prefix.enumerated() {
            let r = 1 / Float(1 + now - lastStep[k])
            let isLast = i == last
            if isLast || !co {
                for e in t.range(of: i) {
                    let p = reach(t.followers[e])
                    if p < 0 { continue }
                    if !co { phi[p][2] += r * t.logScores[e] }
                    if isLast { phi[p][0] = t.logScores[e]; phi[p][1] = t.shares[e]; phi[p][3] = 1 }
                }
            }
            if co {
                for e in t.coRange(of: i) {
                    let p = reach(t.coItems[e])
                    if p >= 0 { phi[p][2] += r * t.coLogScores[e] }
                }
            }
        }
        for n in 0..<reached.count {
            body(reached[n], phi[n] * lanes)
            position[Int(reached[n])] = -1
        }
        for i in prefix { position[Int(i)] = -1 }
        reached.removeAll(keepingCapacity: true)
        phi.removeAll(keepingCapacity: true)
    }
}

extension PrefixTracker {
    /// Repeat-next head: calls `body(candidate, phi)` for slot m's reached candidates outside
    /// its prefix (see `NextFeature`); nothing for the other heads or an empty slot.
    public mutating func forEachNext(slot m: Int, _ body: (Int32, SIMD4<Float>) -> Void) {
        guard next != nil else { return }
        let it = items[m], ls = lastStep[m], now = steps[m], last = lastItem[m]
        next!.forEach(prefix: it, lastStep: ls, now: now, last: last, body)
    }

    /// Appends slot m's candidates as items and 4 features per item (a window's per-term copy).
    public mutating func appendNext(slot m: Int, items outItems: inout [Int32], features outFeatures: inout [Float]) {
        forEachNext(slot: m) { item, phi in
            outItems.append(item)
            outFeatures.append(phi[0]); outFeatures.append(phi[1]); outFeatures.append(phi[2]); outFeatures.append(phi[3])
        }
    }

    /// Slot m's candidates as (item, phi) pairs (tests and inspection).
    public mutating func nextEntries(slot m: Int) -> [(item: Int32, phi: SIMD4<Float>)] {
        var out: [(item: Int32, phi: SIMD4<Float>)] = []
        forEachNext(slot: m) { out.append(($0, $1)) }
        return out
    }
}
