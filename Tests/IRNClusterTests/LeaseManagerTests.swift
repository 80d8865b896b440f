import XCTest
import IRNWire
@testable import IRNServer

final class LeaseManagerTests: XCTestCase {
    func testLeasesCoverEveryShardOncePerEpochAndReturnedShardsResume() throws {
        var m = LeaseManager(shardSizes: [3, 2, 4], epochs: 2)
        let a = m.grant(to: "a", maxShards: 1), b = m.grant(to: "b", maxShards: 1), c = m.grant(to: "c", maxShards: 1)
        XCTAssertEqual([a, b, c].compactMap { $0.lease?.shards.first?.shard }, [0, 1, 2])
        XCTAssertEqual(m.grant(to: "d", maxShards: 1).status, .wait)
        // "a" commits 2 of 3 sessions, then dies: shard 0 goes back with progress 2.
        XCTAssertEqual(m.commit(leaseId: a.lease!.leaseId, actor: "a", progress: [ShardProgress(shard: 0, done: 2, total: 3)]), 2)
        // A foreign or backwards commit changes nothing.
        XCTAssertEqual(m.commit(leaseId: a.lease!.leaseId, actor: "b", progress: [ShardProgress(shard: 0, done: 3, total: 3)]), 0)
        XCTAssertEqual(m.commit(leaseId: b.lease!.leaseId, actor: "b", progress: [ShardProgress(shard: 0, done: 3, total: 3)]), 0)
        XCTAssertEqual(m.release(actor: "a"), [0])
        let d = m.grant(to: "d", maxShards: 1)
        XCTAssertEqual(d.lease?.shards, [ShardProgress(shard: 0, done: 2, total: 3)])
        m.commit(leaseId: d.lease!.leaseId, actor: "d", progress: [ShardProgress(shard: 0, done: 3, total: 3)])
        m.end(leaseId: d.lease!.leaseId)
        m.commit(leaseId: b.lease!.leaseId, actor: "b", progress: [ShardProgress(shard: 1, done: 2, total: 2)])
        m.end(leaseId: b.lease!.leaseId)
        XCTAssertEqual(m.epoch, 0)
        XCTAssertEqual(m.sessionsThisEpoch, 5)
        m.commit(leaseId: c.lease!.leaseId, actor: "c", progress: [ShardProgress(shard: 2, done: 4, total: 4)])
        XCTAssertEqual(m.sessionsThisEpoch, 9)
        m.end(leaseId: c.lease!.leaseId)
        XCTAssertEqual(m.epoch, 1)
        XCTAssertEqual(m.progress, [0, 0, 0])
        // Checkpoint round trip mid-epoch.
        let e = m.grant(to: "e", maxShards: 5)
        m.commit(leaseId: e.lease!.leaseId, actor: "e", progress: [ShardProgress(shard: 0, done: 1, total: 3)])
        var restored = LeaseManager(shardSizes: [3, 2, 4], epochs: 2)
        try restored.restore(from: m.checkpointTensors())
        XCTAssertEqual(restored.epoch, 1)
        XCTAssertEqual(restored.progress, [1, 0, 0])
        XCTAssertTrue(restored.leases.isEmpty)
        var other = LeaseManager(shardSizes: [3, 3], epochs: 2)
        XCTAssertThrowsError(try other.restore(from: m.checkpointTensors()))
        // Finish the last epoch.
        for s in 0..<3 {
            let g = restored.grant(to: "x", maxShards: 1)
            XCTAssertEqual(g.lease?.shards.first?.shard, UInt32(s))
            restored.commit(leaseId: g.lease!.leaseId, actor: "x", progress: [ShardProgress(shard: UInt32(s), done: [3, 2, 4][s], total: [3, 2, 4][s])])
            restored.end(leaseId: g.lease!.leaseId)
        }
        XCTAssertTrue(restored.finished)
        XCTAssertEqual(restored.grant(to: "x", maxShards: 1).status, .finished)
    }

    /// auto: the fewest shards whose mean size holds 8 x the slots, within 1...shards.
    func testAutoLeaseSizeHoldsEightTimesTheSlots() {
        XCTAssertEqual(LeaseManager.sessionsPerSlot, 8)
        // The 1% sample: 64 shards of ~55 sessions, 128 slots -> ceil(1024 / 55.4) = 19 shards.
        let sample = (0..<64).map { UInt64($0 < 28 ? 56 : 55) }
        XCTAssertEqual(LeaseManager.autoShardsPerLease(shardSizes: sample, slots: 128), 19)
        // Paper scale: shards of ~1,130 sessions already hold 8 x 128: one shard.
        XCTAssertEqual(LeaseManager.autoShardsPerLease(shardSizes: Array(repeating: 1130, count: 64), slots: 128), 1)
        // Exactly 8 x: 1,024 per shard -> 1; 1,023 -> 2.
        XCTAssertEqual(LeaseManager.autoShardsPerLease(shardSizes: [1024, 1024], slots: 128), 1)
        XCTAssertEqual(LeaseManager.autoShardsPerLease(shardSizes: [1023, 1023], slots: 128), 2)
        // Never more than every shard, never fewer than one.
        XCTAssertEqual(LeaseManager.autoShardsPerLease(shardSizes: [3, 4, 5], slots: 128), 3)
        XCTAssertEqual(LeaseManager.autoShardsPerLease(shardSizes: [0, 0], slots: 128), 1)
        XCTAssertEqual(LeaseManager.autoShardsPerLease(shardSizes: [], slots: 128), 1)
    }
}
