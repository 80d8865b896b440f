import Foundation

/// The four per-item features of the repeat head (docs/algorithm.md#repeat-head), for the items of the current
/// session prefix; every other item has all four 0.
public enum PrefixFeature: Int, CaseIterable, Sendable, Codable {
    /// 1 (the item is in the session so far).
    case session = 0
    /// log(1 + number of times the item was fed).
    case count
    /// 1 / (1 + environment steps since the item was last fed): 1 for the item just fed.
    case recency
    /// 1 if the item is the last one fed, else 0.
    case last

    /// Flag spelling (`--repeat-features`).
    public var name: String {
        switch self {
        case .session: return "session"
        case .count: return "count"
        case .recency: return "recency"
        case .last: return "last"
        }
    }

    public init?(name: String) {
        guard let f = PrefixFeature.allCases.first(where: { $0.name == name }) else { return nil }
        self = f
    }
}

/// The one piece of code that computes prefix features, for M parallel sessions ("slots"):
/// the training iteration, the scorer (`scoreStep`, hence the evaluator and any serving) and
/// the cluster's actors all feed it and read phi from it. A slot's steps count the items fed
/// to it since its reset (feeding nothing, e.g. cold start in evaluation, is not a step).
/// Work per slot and step is O(distinct items in the slot's prefix); nothing is N-wide.
public struct PrefixTracker: Sendable, Equatable {
    public let slots: Int
    /// Lanes of the features in use (1) and masked off (0).
    public let lanes: SIMD4<Float>

    /// Per slot, its distinct items in order of first appearance, how often each was fed,
    /// and the step at which each was last fed (steps count from 1).
    private(set) var items: [[Int32]]
    private var counts: [[Int32]]
    private(set) var lastStep: [[Int32]]
    private(set) var steps: [Int32]
    private(set) var lastItem: [Int32]
    /// The repeat-next head's candidate features (nil for the other heads); see NextFeatures.swift.
    var next: NextCandidates?

    public init(slots: Int, head: PolicyHead = .repeatAware()) {
        precondition(slots > 0)
        self.slots = slots
        lanes = head.featureLanes
        items = [[Int32]](repeating: [], count: slots)
        counts = items
        lastStep = items
        steps = [Int32](repeating: 0, count: slots)
        lastItem = [Int32](repeating: -1, count: slots)
        if head.hasNext {
            guard let table = head.transitions else { preconditionFailure("the repeat-next head needs its transition table attached") }
            next = NextCandidates(table: table, lanes: head.nextFeatureLanes)
        }
    }

    /// Empties slot m (a new session starts there).
    public mutating func reset(slot m: Int) {
        items[m].removeAll(keepingCapacity: true)
        counts[m].removeAll(keepingCapacity: true)
        lastStep[m].removeAll(keepingCapacity: true)
        steps[m] = 0
        lastItem[m] = -1
    }

    public mutating func resetAll() { for m in 0..<slots { reset(slot: m) } }

    /// Slot m observes `item` (>= 0): one environment step.
    public mutating func feed(slot m: Int, item: Int32) {
        precondition(item >= 0, "the prefix tracker is fed items, not \(item)")
        steps[m] += 1
        lastItem[m] = item
        if let j = items[m].firstIndex(of: item) {
            counts[m][j] += 1
            lastStep[m][j] = steps[m]
        } else {
            items[m].append(item)
            counts[m].append(1)
            lastStep[m].append(steps[m])
        }
    }

    /// Number of distinct items in slot m's prefix.
    public func count(slot m: Int) -> Int { items[m].count }

    /// Calls `body(item, phi)` for every item of slot m's prefix, in order of first appearance.
    @inline(__always)
    public func forEach(slot m: Int, _ body: (Int32, SIMD4<Float>) -> Void) {
        let now = steps[m], last = lastItem[m]
        items[m].withUnsafeBufferPointer { it in
            counts[m].withUnsafeBufferPointer { ct in
                lastStep[m].withUnsafeBufferPointer { ls in
                    for j in 0..<it.count {
                        let phi = SIMD4<Float>(1, Float(Foundation.log1p(Double(ct[j]))),
                                               1 / Float(1 + now - ls[j]), it[j] == last ? 1 : 0)
                        body(it[j], phi * lanes)
                    }
                }
            }
        }
    }

    /// Appends slot m's prefix as items and 4 features per item (a window's per-term copy).
    public func append(slot m: Int, items outItems: inout [Int32], features outFeatures: inout [Float]) {
        forEach(slot: m) { item, phi in
            outItems.append(item)
            outFeatures.append(phi[0]); outFeatures.append(phi[1]); outFeatures.append(phi[2]); outFeatures.append(phi[3])
        }
    }

    /// Slot m's prefix as (item, phi) pairs (tests and inspection).
    public func entries(slot m: Int) -> [(item: Int32, phi: SIMD4<Float>)] {
        var out: [(item: Int32, phi: SIMD4<Float>)] = []
        forEach(slot: m) { out.append(($0, $1)) }
        return out
    }
}
