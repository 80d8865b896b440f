import Foundation
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

/// The recommend body's fast parser never disagrees with JSONDecoder: whatever it accepts,
/// the decoder decodes to the same value; the common shapes are accepted.
final class RecommendBodyParserTests: XCTestCase {
    private func fast(_ s: String) -> RecommendBody? { Array(s.utf8).withUnsafeBytes { RecommendBody.fastParse($0) } }
    private func slow(_ s: String) -> RecommendBody? { try? JSONDecoder().decode(RecommendBody.self, from: Data(s.utf8)) }

    func testAgreesWithTheDecoder() {
        let accepted = [
            #"{"session":[1,2,3],"k":10}"#, #"{"session": [214821275, 214821277], "k": 5}"#, #"{"session":[]}"#,
            " {\n\t\"k\" : 3 ,\r\"session\" : [ -1 , 0 ,7 ] , \"exclude_seen\" : true } ", #"{"exclude_seen":false,"session":[9]}"#,
            #"{"session":[999999999999999999,-999999999999999999]}"#,
        ]
        for s in accepted {
            XCTAssertNotNil(fast(s), s)
            XCTAssertEqual(fast(s), slow(s), s)
        }
        let fallBack = [
            "", "{}", "[]", "{", #"{"session":[1,2}"#, #"{"session":[1.5]}"#, #"{"session":[1e3]}"#, #"{"session":[01]}"#,
            #"{"session":[9999999999999999999]}"#, #"{"session":[1],"k":null}"#, #"{"session":[1],"session":[2]}"#,
            #"{"session":[1],"other":2}"#, #"{"sess\u0069on":[1]}"#, #"{"session":[1]} x"#, #"{"session":["1"]}"#,
            #"{"session":[1],"exclude_seen":1}"#, #"{"session":[1],"k":-}"#, #"{"k":3}"#, #"{"session":[1],}"#, #"{"session":[,1]}"#,
        ]
        for s in fallBack { XCTAssertNil(fast(s), s) }
        // Random bodies, well-formed and mangled: whenever the fast path answers, it is the decoder's answer.
        var rng = SystemRandomNumberGenerator()
        let pieces = ["{", "}", "[", "]", ",", ":", " ", "\"session\"", "\"k\"", "\"exclude_seen\"", "true", "false", "null", "-", "0", "7", "12", "1.5", "\"x\""]
        for _ in 0..<20_000 {
            let s = (0..<Int(rng.next() % 14)).map { _ in pieces[Int(rng.next() % UInt64(pieces.count))] }.joined()
            if let f = fast(s) { XCTAssertEqual(f, slow(s), s) }
        }
        for _ in 0..<2_000 {
            let items = (0..<Int(rng.next() % 6)).map { _ in String(Int64(rng.next() % 2_000_000_000) - 1_000_000_000) }
            var members = ["\"session\":[\(items.joined(separator: ","))]"]
            if rng.next() % 2 == 0 { members.append("\"k\":\(rng.next() % 100)") }
            if rng.next() % 2 == 0 { members.append("\"exclude_seen\":\(rng.next() % 2 == 0)") }
            members.shuffle(using: &rng)
            let s = "{" + members.joined(separator: rng.next() % 2 == 0 ? "," : " , ") + "}"
            XCTAssertNotNil(fast(s), s)
            XCTAssertEqual(fast(s), slow(s), s)
        }
    }
}
