import IRNData

/// The order in which the cluster visits training sessions, and the order single-process
/// training must use to match it (the synchronous-mode check):
///
/// Epoch e's global order is `dataset.epochOrder(of: set, shards: 0..<shardCount, seed:
/// seed, epoch: e)` (one permutation of every training session). A lease of some shards
/// replays that global order filtered to its shards, skipping, in each shard, the first
/// `done` sessions (its committed progress). Since the filter keeps the global order, a
/// shard's own sequence does not depend on how shards are grouped into leases, so progress
/// "done" names the same sessions whoever resumes it. A lease of every shard at 0 replays
/// exactly the global order: that is single-process training's epoch.
public struct ClusterEpochOrder: Sendable {
    /// Session indices (into the training set) in replay order, including sessions too short
    /// to yield a step (the feeder skips those).
    public let sessions: [Int]
    /// Shard of each entry of `sessions`.
    public let shards: [Int32]
    /// Whether each entry yields at least one step (length >= 2).
    public let usable: [Bool]

    public init(dataset: PreparedDataset, set: SessionSet, lease: [(shard: Int, done: Int)], seed: UInt64, epoch: Int) {
        let global = dataset.epochOrder(of: set, shards: 0..<dataset.shardCount, seed: seed, epoch: epoch)
        var skip = [Int](repeating: -1, count: dataset.shardCount)
        for l in lease where l.shard >= 0 && l.shard < dataset.shardCount { skip[l.shard] = l.done }
        var s: [Int] = [], sh: [Int32] = [], u: [Bool] = []
        for i in global {
            let shard = dataset.shard(ofSession: i, in: set)
            guard skip[shard] >= 0 else { continue }
            if skip[shard] > 0 { skip[shard] -= 1; continue }
            s.append(i)
            sh.append(Int32(shard))
            u.append(set.length(of: i) >= 2)
        }
        sessions = s
        shards = sh
        usable = u
    }

    /// The sessions that yield steps, in order (what a `SessionWindowFeeder` is given).
    public var feederOrder: [Int] { zip(sessions, usable).filter(\.1).map(\.0) }
}

/// Counts sessions started against a `ClusterEpochOrder`: feed it the number of sessions
/// each window started (its resets); it tells how many of each shard's sessions were
/// started, counting unusable (too short) sessions as started as soon as they are passed.
public struct ClusterProgressTracker: Sendable {
    public let order: ClusterEpochOrder
    /// Entries of `order.sessions` passed so far.
    public private(set) var position = 0
    /// Started per shard, by shard index.
    public private(set) var started: [Int32: Int] = [:]

    public init(order: ClusterEpochOrder) { self.order = order }

    /// Records `count` more usable sessions started.
    public mutating func start(_ count: Int) {
        var left = count
        while position < order.sessions.count {
            if order.usable[position] {
                if left == 0 { break }
                left -= 1
            }
            started[order.shards[position], default: 0] += 1
            position += 1
        }
    }

    /// Everything passed (the feeder finished).
    public mutating func finish() {
        while position < order.sessions.count {
            started[order.shards[position], default: 0] += 1
            position += 1
        }
    }
}
