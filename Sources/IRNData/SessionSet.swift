/// The kind of a logged event.
public enum EventType: UInt8, Sendable, Codable {
    case click = 0
    case purchase = 1
}

/// A set of sessions in compressed-row form: session `s` owns events
/// `offsets[s] ..< offsets[s + 1]` of the flat `items`, `types` and `times` arrays.
/// Items are dense indices `0 ..< itemCount` into the data set's item map.
public struct SessionSet: Sendable, Equatable {
    /// Original session ids, one per session.
    public var ids: [Int64]
    /// `count + 1` offsets into the event arrays; `offsets[0] == 0`.
    public var offsets: [Int]
    /// Dense item index of each event.
    public var items: [Int32]
    /// Event type of each event (`EventType.rawValue`).
    public var types: [UInt8]
    /// Event time, milliseconds since the Unix epoch.
    public var times: [Int64]

    public init(ids: [Int64] = [], offsets: [Int] = [0], items: [Int32] = [], types: [UInt8] = [], times: [Int64] = []) {
        self.ids = ids
        self.offsets = offsets
        self.items = items
        self.types = types
        self.times = times
    }

    /// Number of sessions.
    @inlinable public var count: Int { ids.count }
    /// Number of events over all sessions.
    @inlinable public var eventCount: Int { items.count }
    /// Number of purchase events.
    public var purchaseCount: Int { types.reduce(0) { $0 + ($1 == EventType.purchase.rawValue ? 1 : 0) } }
    /// Number of distinct items that occur.
    public var distinctItemCount: Int { Set(items).count }

    /// Event index range of session `s`.
    @inlinable public func range(of s: Int) -> Range<Int> { offsets[s] ..< offsets[s + 1] }
    /// Length of session `s`.
    @inlinable public func length(of s: Int) -> Int { offsets[s + 1] - offsets[s] }

    /// Appends one session.
    public mutating func append(id: Int64, items newItems: some Sequence<Int32>, types newTypes: some Sequence<UInt8>, times newTimes: some Sequence<Int64>) {
        ids.append(id)
        items.append(contentsOf: newItems)
        types.append(contentsOf: newTypes)
        times.append(contentsOf: newTimes)
        precondition(items.count == types.count && items.count == times.count)
        offsets.append(items.count)
    }

    /// The sessions at the given indices, in that order.
    public func subset(_ indices: some Sequence<Int>) -> SessionSet {
        var out = SessionSet()
        for s in indices {
            let r = range(of: s)
            out.append(id: ids[s], items: items[r], types: types[r], times: times[r])
        }
        return out
    }
}
