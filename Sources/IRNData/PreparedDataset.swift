import Foundation
import IRNSupport

/// The output of `irn data prepare`: four splits over one dense item space (train's items),
/// plus the shard count used to spread sessions over actors.
public struct PreparedDataset: Sendable {
    /// Dense item index -> original item id (the items of train, ascending id).
    public let itemIds: [Int64]
    public var itemCount: Int { itemIds.count }
    public let train: SessionSet
    public let test: SessionSet
    public let trainTr: SessionSet
    public let valid: SessionSet
    public let shardCount: Int
    /// Options the set was prepared with (nil when built in memory without them).
    public var options: PrepareOptions?

    public init(itemIds: [Int64], train: SessionSet, test: SessionSet, trainTr: SessionSet, valid: SessionSet,
                shardCount: Int, options: PrepareOptions? = nil) {
        self.itemIds = itemIds
        self.train = train
        self.test = test
        self.trainTr = trainTr
        self.valid = valid
        self.shardCount = shardCount
        self.options = options
    }

    /// The shard of session `index` of `set`: a stable hash of its original id.
    public func shard(ofSession index: Int, in set: SessionSet) -> Int {
        StableHash.shard(ofSession: set.ids[index], shards: shardCount)
    }

    /// Indices of the sessions of `set` that fall in any of `shards`, in set order.
    public func sessionIndices(of set: SessionSet, shards: some Sequence<Int>) -> [Int] {
        var wanted = [Bool](repeating: false, count: shardCount)
        for s in shards where s >= 0 && s < shardCount { wanted[s] = true }
        return (0..<set.count).filter { wanted[shard(ofSession: $0, in: set)] }
    }

    /// The four splits by the names used in dataset.json.
    public var splits: [(name: String, set: SessionSet)] {
        [("train", train), ("test", test), ("train_tr", trainTr), ("valid", valid)]
    }

    /// The split called `name` (train, test, train_tr, valid).
    public func split(named name: String) -> SessionSet? {
        splits.first { $0.name == name }?.set
    }

    /// Sessions, events, purchases and distinct items of one split.
    public struct SplitCounts: Codable, Sendable, Equatable {
        public var sessions: Int
        public var events: Int
        public var purchases: Int
        public var items: Int

        public init(sessions: Int, events: Int, purchases: Int, items: Int) {
            self.sessions = sessions; self.events = events; self.purchases = purchases; self.items = items
        }

        public init(_ set: SessionSet) {
            // A presence table instead of Set(items): cheap on tens of millions of events.
            var maxItem: Int32 = -1
            for it in set.items where it > maxItem { maxItem = it }
            var seen = [Bool](repeating: false, count: Int(maxItem) + 1)
            var distinct = 0
            for it in set.items where it >= 0 && !seen[Int(it)] { seen[Int(it)] = true; distinct += 1 }
            var purchases = 0
            for t in set.types where t == EventType.purchase.rawValue { purchases += 1 }
            self.init(sessions: set.count, events: set.eventCount, purchases: purchases, items: distinct)
        }
    }

    public func counts(of set: SessionSet) -> SplitCounts { SplitCounts(set) }
}
