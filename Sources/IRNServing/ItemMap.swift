/// Original item ids <-> the model's dense item indices (the prepared data's `items.tsv`).
/// Without a data set the ids are the dense indices themselves.
public struct ItemMap: Sendable {
    public let ids: [Int64]
    private let index: [Int64: Int32]

    public var count: Int { ids.count }

    /// From the prepared data's dense index -> original id table.
    public init(ids: [Int64]) {
        self.ids = ids
        var d = [Int64: Int32](minimumCapacity: ids.count)
        for (i, id) in ids.enumerated() { d[id] = Int32(i) }
        index = d
    }

    /// Identity map 0..<count (a model served without --data).
    public init(identity count: Int) { self.init(ids: (0..<count).map { Int64($0) }) }

    public func dense(_ id: Int64) -> Int32? { index[id] }
    public func original(_ dense: Int32) -> Int64 { ids[Int(dense)] }

    /// Splits original ids into dense indices (kept, in order) and unknown ids (skipped).
    public func resolve(_ session: [Int64]) -> (known: [Int32], unknown: [Int64]) {
        var known: [Int32] = []
        known.reserveCapacity(session.count)
        var unknown: [Int64] = []
        for id in session {
            if let d = index[id] { known.append(d) } else { unknown.append(id) }
        }
        return (known, unknown)
    }
}
