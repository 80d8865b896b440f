import XCTest
@testable import IRNServing
import IRNNumerics

final class TopKAndSessionStoreTests: XCTestCase {
    /// Partial selection gives exactly the head of a full sort (score desc, index asc).
    func testTopKMatchesAFullSortWithTiesExclusionsAndNaN() {
        var rng = SystemRandomNumberGenerator()
        var sel = TopKSelector()
        var items: [Int32] = [], values: [Float] = []
        for trial in 0..<200 {
            let n = 1 + Int(rng.next() % 300)
            var scores = (0..<n).map { _ in Float(Int(rng.next() % 20)) / 4 }  // many ties
            if trial % 5 == 0 { scores[0] = .nan }
            let excluded: Set<Int32> = trial % 3 == 0 ? [Int32(n / 2), 0] : []
            let k = 1 + Int(rng.next() % 15)
            scores.withUnsafeBufferPointer { sel.select($0, k: k, excluded: excluded, items: &items, values: &values) }
            let clean: [Float] = scores.map { $0.isNaN ? -Float.infinity : $0 }
            let kept: [Int] = (0..<n).filter { !excluded.contains(Int32($0)) }
            let order: [Int] = kept.sorted { a, b in clean[a] > clean[b] || (clean[a] == clean[b] && a < b) }
            let ref: [Int] = Array(order.prefix(k))
            XCTAssertEqual(items, ref.map { Int32($0) }, "trial \(trial)")
            XCTAssertEqual(values, ref.map { clean[$0] })
        }
    }

    func testSessionStoreEvictsLeastRecentlyUsedAndExpiresIdleSessions() {
        let s = SessionStore(capacity: 3, ttl: 10)
        _ = s.entry("a", stateKey: "k", now: 0)
        _ = s.entry("b", stateKey: "k", now: 1)
        _ = s.entry("c", stateKey: "k", now: 2)
        _ = s.entry("a", stateKey: "k", now: 3)  // a is now the most recent
        _ = s.entry("d", stateKey: "k", now: 4)  // evicts b
        XCTAssertEqual(s.count, 3)
        XCTAssertEqual(s.evicted, 1)
        XCTAssertFalse(s.contains("b"))
        XCTAssertTrue(s.contains("a") && s.contains("c") && s.contains("d"))
        s.sweep(now: 12.5)  // c (used at 2) is idle > 10 s; a (3) and d (4) are not
        XCTAssertEqual(s.expired, 1)
        XCTAssertFalse(s.contains("c"))
        s.sweep(now: 100)
        XCTAssertEqual(s.count, 0)
        XCTAssertEqual(s.expired, 3)
    }
}

final class ServingModelTests: XCTestCase {
    /// Follow mode re-transposes only the changed W_p rows: same result as a full transpose.
    func testIncrementalPolicyTransposeEqualsAFullOne() {
        let shape = NetworkShape(items: 70, hidden: 40)
        var p = NetworkParameters(shape: shape, seed: 3)
        let first = ServingModel(kind: .agent(p), version: 1, name: "t", scoring: .sgemm)
        let w = ParameterGroup.policyWeights.rawValue
        for r in [0, 13, 69] { for i in 0..<40 { p.tensors[w][r * 40 + i] += Float(i + 1) } }
        let next = ServingModel(agent: p, version: 2, name: "t", previous: first, changedPolicyRows: [0, 13, 69], scoring: .sgemm)
        XCTAssertEqual(next.policyTransposed, ServingModel(kind: .agent(p), version: 2, name: "t", scoring: .sgemm).policyTransposed)
        XCTAssertNotEqual(next.policyTransposed, first.policyTransposed, "the previous snapshot is untouched")
        let same = ServingModel(agent: p, version: 3, name: "t", previous: next, changedPolicyRows: [], scoring: .sgemm)
        XCTAssertEqual(same.policyTransposed, next.policyTransposed)
    }
}
