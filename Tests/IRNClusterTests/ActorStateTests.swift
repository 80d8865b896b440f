import XCTest
@testable import IRNActor
import IRNWire

/// The bookkeeping of one joined session, without a server.
final class ActorStateTests: XCTestCase {
    private let welcome = Welcome(runId: 5, weightVersion: 17, targetVersion: 3, weights: [], target: [],
                                  lease: Lease(leaseId: 42, epoch: 1, shards: [ShardProgress(shard: 3, done: 0, total: 9)]))

    func testSessionStartsFromTheWelcome() {
        let s = Session(welcome: welcome, now: 100)
        XCTAssertEqual(s.serverRunId, 5)
        XCTAssertEqual(s.lastHeard, 100)
        XCTAssertEqual(s.lastHeartbeat, 0)
        XCTAssertNil(s.lease)  // the Welcome's lease is started by the client, with the producer
        XCTAssertFalse(s.awaitingGrant)
        XCTAssertFalse(s.awaitingSync)
        XCTAssertTrue(s.buffered.isEmpty)
        XCTAssertEqual(s.inFlight, 0)
        XCTAssertNil(s.oldestUnacked)
        XCTAssertEqual(s.ackedVersion, 17)
        XCTAssertEqual(s.ackedTargetVersion, 3)
    }

    func testStateNamesTheServerRunForTheHello() {
        guard case .joining(let lastHello, let known) = ActorState.initial else { return XCTFail("starts joined") }
        XCTAssertEqual(known, 0)
        XCTAssertGreaterThan(0 - lastHello, 1e6)  // the first Hello goes out at once
        XCTAssertEqual(ActorState.joined(Session(welcome: welcome, now: 0)).knownRunId, 5)
        XCTAssertEqual(ActorState.joining(lastHello: 1, knownRunId: 5).knownRunId, 5)
    }

    func testAcksCountDownPushesAndRaiseVersions() {
        var s = Session(welcome: welcome, now: 0)
        s.pushed(at: 1)
        s.pushed(at: 2)
        XCTAssertEqual(s.inFlight, 2)
        XCTAssertEqual(s.oldestUnacked, 1)
        s.acknowledged(Ack(sequence: 1, status: .applied, weightVersion: 20, targetVersion: 4), at: 3)
        XCTAssertEqual(s.inFlight, 1)
        XCTAssertEqual(s.oldestUnacked, 3)
        XCTAssertEqual(s.ackedVersion, 20)
        XCTAssertEqual(s.ackedTargetVersion, 4)
        // An older ack (reordered) lowers nothing.
        s.acknowledged(Ack(sequence: 2, status: .stale, weightVersion: 18, targetVersion: 2), at: 4)
        XCTAssertEqual(s.inFlight, 0)
        XCTAssertNil(s.oldestUnacked)
        XCTAssertEqual(s.ackedVersion, 20)
        XCTAssertEqual(s.ackedTargetVersion, 4)
        // An ack for a push we already gave up on.
        s.acknowledged(Ack(sequence: 3, status: .applied, weightVersion: 21), at: 5)
        XCTAssertEqual(s.inFlight, 0)
        s.pushed(at: 6)
        s.forgetUnacked()
        XCTAssertEqual(s.inFlight, 0)
        XCTAssertNil(s.oldestUnacked)
    }

    func testBufferKeepsTheNewest64() {
        var s = Session(welcome: welcome, now: 0)
        for v in 0..<70 as Range<UInt64> {
            s.buffer(WireEnvelope(.targetRefresh(TargetRefresh(targetVersion: v, weightVersion: v)), senderRunId: 5))
        }
        XCTAssertEqual(s.buffered.count, 64)
        XCTAssertEqual(s.buffered.first?.message, .targetRefresh(TargetRefresh(targetVersion: 6, weightVersion: 6)))
        XCTAssertEqual(s.buffered.last?.message, .targetRefresh(TargetRefresh(targetVersion: 69, weightVersion: 69)))
    }

    func testReadyToCompute() {
        var config = ActorConfig(server: "tcp://127.0.0.1:1", actorId: "a", host: "h")
        config.maxInFlight = 2
        var s = Session(welcome: welcome, now: 0)
        var replica = WeightReplica()
        XCTAssertFalse(s.readyToCompute(replica: replica, config: config))  // no weights yet
        replica.load(version: 10, weights: [], targetVersion: 1, target: [])
        XCTAssertTrue(s.readyToCompute(replica: replica, config: config))
        s.awaitingSync = true
        XCTAssertFalse(s.readyToCompute(replica: replica, config: config))
        s.awaitingSync = false
        s.pushed(at: 0)
        XCTAssertTrue(s.readyToCompute(replica: replica, config: config))
        s.pushed(at: 0)
        XCTAssertFalse(s.readyToCompute(replica: replica, config: config))  // maxInFlight
        s.forgetUnacked()

        // Synchronous: nothing in flight, and the replica has the acked (here: welcomed) versions.
        config.syncWeights = true
        XCTAssertFalse(s.readyToCompute(replica: replica, config: config))  // replica 10/1 < 17/3
        replica.load(version: 17, weights: [], targetVersion: 2, target: [])
        XCTAssertFalse(s.readyToCompute(replica: replica, config: config))
        replica.load(version: 17, weights: [], targetVersion: 3, target: [])
        XCTAssertTrue(s.readyToCompute(replica: replica, config: config))
        s.pushed(at: 0)
        XCTAssertFalse(s.readyToCompute(replica: replica, config: config))
    }
}
