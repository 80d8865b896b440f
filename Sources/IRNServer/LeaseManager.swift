import IRNNumerics
import IRNSupport
import IRNWire

/// Hands out session shards to actors, one epoch at a time, so that every session is visited
/// exactly once per epoch however actors come and go. Progress of a shard is the number of its
/// sessions (in the shard's fixed order) already finished; it only moves forward, and only
/// through the lease that holds the shard. A returned or expired lease puts its shards back
/// with their progress, so the next holder resumes where the last commit left off.
public struct LeaseManager: Sendable {
    public struct Holder: Sendable, Equatable {
        public var actor: String
        public var shards: [UInt32]
    }

    public let shardSizes: [UInt64]
    public let epochs: UInt32
    public let shardsPerLease: Int
    public private(set) var epoch: UInt32 = 0
    public private(set) var progress: [UInt64]
    public private(set) var leases: [UInt64: Holder] = [:]
    private var owner: [UInt64?]
    private var nextLeaseId: UInt64 = 1
    /// Sessions committed in the current epoch (for stats and the exactly-once check).
    public private(set) var sessionsThisEpoch: UInt64 = 0

    public init(shardSizes: [UInt64], epochs: UInt32, shardsPerLease: Int = 1) {
        precondition(shardsPerLease >= 1)
        self.shardSizes = shardSizes
        self.epochs = epochs
        self.shardsPerLease = shardsPerLease
        progress = Array(repeating: 0, count: shardSizes.count)
        owner = Array(repeating: nil, count: shardSizes.count)
        advanceIfEpochDone()
    }

    /// The lease size that keeps an actor's `slots` session-parallel slots full: the fewest
    /// shards holding, on average, `sessionsPerSlot` (8) times as many sessions as slots (at most
    /// every shard). A lease's windows run full until its last `slots` sessions are playing
    /// and then drain while its longest sessions finish. Measured on the 1% sample (IRN-P,
    /// 2 actors, docs/results/cluster): leases of 2 x slots sessions made 203 updates per epoch
    /// against irn train's 72 (most windows were draining) and cost 2 points of purchase MRR@5,
    /// as many small updates do in one process (`irn train --batch 45`); leases of ~7 x slots
    /// made 103 and were 2.5 points above irn train (3 seeds each). Small data sets then have
    /// few leases per epoch (the sample: 4 for 64 shards), fewer than a large cluster's
    /// actors; give a count to trade.
    public static func autoShardsPerLease(shardSizes: [UInt64], slots: Int) -> Int {
        let shards = shardSizes.count
        guard shards > 0, slots > 0 else { return 1 }
        let total = shardSizes.reduce(0, +)
        guard total > 0 else { return 1 }
        let mean = Double(total) / Double(shards)
        return min(shards, max(1, Int((Double(sessionsPerSlot * slots) / mean).rounded(.up))))
    }

    /// Sessions per slot in an auto-sized lease.
    public static let sessionsPerSlot = 8

    public var finished: Bool { epoch >= epochs }
    public var shardsDone: Int { zip(progress, shardSizes).filter { $0 == $1 }.count }
    public func shards(of actor: String) -> [UInt32] {
        leases.values.filter { $0.actor == actor }.flatMap(\.shards).sorted()
    }

    private func shardProgress(_ s: UInt32) -> ShardProgress {
        ShardProgress(shard: s, done: progress[Int(s)], total: shardSizes[Int(s)])
    }

    /// Up to `maxShards` (and `shardsPerLease`) unfinished, unleased shards for `actor`.
    public mutating func grant(to actor: String, maxShards: Int) -> LeaseGrant {
        if finished { return LeaseGrant(status: .finished) }
        let want = max(1, min(maxShards, shardsPerLease))
        var picked: [UInt32] = []
        for s in 0..<shardSizes.count where owner[s] == nil && progress[s] < shardSizes[s] {
            picked.append(UInt32(s))
            if picked.count == want { break }
        }
        if picked.isEmpty { return LeaseGrant(status: .wait) }
        let id = nextLeaseId
        nextLeaseId += 1
        for s in picked { owner[Int(s)] = id }
        leases[id] = Holder(actor: actor, shards: picked)
        return LeaseGrant(status: .granted, lease: Lease(leaseId: id, epoch: epoch, shards: picked.map(shardProgress)))
    }

    /// Records progress reported under `leaseId` by `actor`. Entries for shards the lease does
    /// not hold, or going backwards, are ignored. Returns the sessions newly committed.
    @discardableResult
    public mutating func commit(leaseId: UInt64, actor: String, progress reported: [ShardProgress]) -> UInt64 {
        guard let h = leases[leaseId], h.actor == actor else { return 0 }
        var added: UInt64 = 0
        for p in reported where h.shards.contains(p.shard) {
            let s = Int(p.shard)
            let done = min(p.done, shardSizes[s])
            if done > progress[s] {
                added += done - progress[s]
                progress[s] = done
            }
        }
        sessionsThisEpoch += added
        return added
    }

    /// Ends a lease (completed, returned, or its actor gone): its shards become free again
    /// (finished ones stay finished). May start the next epoch.
    public mutating func end(leaseId: UInt64) {
        guard let h = leases.removeValue(forKey: leaseId) else { return }
        for s in h.shards where owner[Int(s)] == leaseId { owner[Int(s)] = nil }
        advanceIfEpochDone()
    }

    /// Ends every lease of `actor`; returns the shards it held.
    @discardableResult
    public mutating func release(actor: String) -> [UInt32] {
        let ids = leases.filter { $0.value.actor == actor }.map(\.key)
        let shards = ids.flatMap { leases[$0]!.shards }
        for id in ids { end(leaseId: id) }
        return shards.sorted()
    }

    public func isHeld(leaseId: UInt64, by actor: String) -> Bool { leases[leaseId]?.actor == actor }

    private mutating func advanceIfEpochDone() {
        while !finished && leases.isEmpty && zip(progress, shardSizes).allSatisfy({ $0 == $1 }) {
            epoch += 1
            sessionsThisEpoch = 0
            if !finished { progress = Array(repeating: 0, count: shardSizes.count) }
        }
    }

    // MARK: checkpoint

    /// Epoch and per-shard progress (leases are not saved: actors ask again after a restart).
    public func checkpointTensors() -> [String: SafetensorsTensor] {
        [
            "server.lease.epoch": SafetensorsTensor(int64s: [Int64(epoch)], shape: [1]),
            "server.lease.progress": SafetensorsTensor(int64s: progress.map { Int64($0) }, shape: [progress.count]),
            "server.lease.sizes": SafetensorsTensor(int64s: shardSizes.map { Int64($0) }, shape: [shardSizes.count]),
            "server.lease.sessions_this_epoch": SafetensorsTensor(int64s: [Int64(sessionsThisEpoch)], shape: [1]),
        ]
    }

    public mutating func restore(from t: [String: SafetensorsTensor]) throws {
        guard let e = try t["server.lease.epoch"]?.int64s().first,
              let p = try t["server.lease.progress"]?.int64s(),
              let sizes = try t["server.lease.sizes"]?.int64s() else {
            throw IRNError("checkpoint has no shard progress (server.lease.*)")
        }
        guard sizes.map({ UInt64($0) }) == shardSizes else {
            throw IRNError("checkpoint shards (\(sizes.count) shards, \(sizes.reduce(0, +)) sessions) differ from the data (\(shardSizes.count) shards, \(shardSizes.reduce(0, +)) sessions)")
        }
        guard e >= 0, p.count == shardSizes.count, zip(p, shardSizes).allSatisfy({ $0 >= 0 && UInt64($0) <= $1 }) else {
            throw IRNError("checkpoint shard progress is out of range")
        }
        epoch = UInt32(e)
        progress = p.map { UInt64($0) }
        sessionsThisEpoch = UInt64(max(0, (try t["server.lease.sessions_this_epoch"]?.int64s().first) ?? 0))
        owner = Array(repeating: nil, count: shardSizes.count)
        leases = [:]
        advanceIfEpochDone()
    }
}
