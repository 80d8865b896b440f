import XCTest
@testable import IRNWire

final class WeightReplicaTests: XCTestCase {
    private func loaded() -> WeightReplica {
        var r = WeightReplica()
        r.load(version: 5, weights: [.dense("emb", shape: [4, 2], values: [0, 0, 1, 1, 2, 2, 3, 3]), .dense("b", shape: [2], values: [9, 9])],
               targetVersion: 1, target: [.dense("emb", shape: [4, 2], values: Array(repeating: -1, count: 8)), .dense("b", shape: [2], values: [0, 0])])
        return r
    }

    func testPatchesApplyInOrderAndGapsAreDetected() {
        var r = loaded()
        XCTAssertEqual(r.takeChanges().weights == nil, true, "a load changes everything")
        // Rows 1 and 3 replaced, exactly.
        let p1 = WeightUpdate(fromVersion: 5, toVersion: 6, full: false,
                              parts: [.rowSparse("emb", shape: [4, 2], rows: [1, 3], values: [7, 7, 8, 8])])
        XCTAssertEqual(r.apply(p1), .applied)
        XCTAssertEqual(r.version, 6)
        XCTAssertEqual(r.weights["emb"]!.values, [0, 0, 7, 7, 2, 2, 8, 8])
        XCTAssertEqual(r.takeChanges().weights, ["emb": .rows([1, 3])])
        XCTAssertEqual(r.apply(p1), .old)
        // A patch from version 7 while we are at 6: gap.
        let p3 = WeightUpdate(fromVersion: 7, toVersion: 8, full: false, parts: [.dense("b", shape: [2], values: [1, 1])])
        XCTAssertEqual(r.apply(p3), .gap)
        XCTAssertEqual(r.version, 6)
        XCTAssertEqual(r.apply(WeightUpdate(fromVersion: 6, toVersion: 7, full: false, parts: [.dense("zz", shape: [1], values: [1])])),
                       .mismatch("unknown parameter zz"))
        XCTAssertEqual(r.apply(WeightUpdate(fromVersion: 6, toVersion: 7, full: false, parts: [.dense("b", shape: [3], values: [1, 1, 1])])),
                       .mismatch("b: shape [3] vs [2]"))
        XCTAssertEqual(r.version, 6, "a refused patch changes nothing")
        XCTAssertEqual(r.weights["b"]!.values, [9, 9])
        // A full update jumps anywhere.
        XCTAssertEqual(r.apply(WeightUpdate(fromVersion: 0, toVersion: 20, full: true, parts: [.dense("b", shape: [2], values: [4, 4])])), .applied)
        XCTAssertEqual(r.version, 20)
        XCTAssertEqual(r.weights["b"]!.values, [4, 4])
    }

    func testTargetRefreshCopiesWeightsOnlyAtItsVersion() {
        var r = loaded()
        XCTAssertFalse(r.refreshTarget(TargetRefresh(targetVersion: 2, weightVersion: 6)), "replica is at 5, not 6")
        XCTAssertEqual(r.targetVersion, 1)
        XCTAssertTrue(r.refreshTarget(TargetRefresh(targetVersion: 2, weightVersion: 5)))
        XCTAssertEqual(r.targetVersion, 2)
        XCTAssertEqual(r.target["emb"]!.values, r.weights["emb"]!.values)
        XCTAssertTrue(r.refreshTarget(TargetRefresh(targetVersion: 2, weightVersion: 5)), "already there")
        // With explicit parts, the target is taken from them.
        XCTAssertTrue(r.refreshTarget(TargetRefresh(targetVersion: 3, weightVersion: 99, parts: [.dense("b", shape: [2], values: [5, 6])])))
        XCTAssertEqual(r.target["b"]!.values, [5, 6])
    }
}
