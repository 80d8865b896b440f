import XCTest
import IRNSupport
@testable import IRNEvaluation

final class RankCountingTests: XCTestCase {
    private func rank(_ scores: [Float], _ target: Int, _ ties: TieRule, limit: Int = .max) -> Int {
        scores.withUnsafeBufferPointer { rankOf(target: target, scores: $0, ties: ties, limit: limit) }
    }

    func testTiesBothRules() {
        let s: [Float] = [0.5, 0.9, 0.5, 0.1, 0.5]
        XCTAssertEqual(rank(s, 0, .conservative), 4)  // 0.9 and two other 0.5s
        XCTAssertEqual(rank(s, 0, .strict), 2)        // only 0.9 is strictly higher
        XCTAssertEqual(rank(s, 1, .conservative), 1)
        XCTAssertEqual(rank(s, 1, .strict), 1)
        XCTAssertEqual(rank(s, 3, .conservative), 5)
        XCTAssertEqual(rank(s, 3, .strict), 5)
    }

    func testNaNTargetRanksLast() {
        XCTAssertEqual(rank([1, .nan, 0], 1, .strict), 3)
        XCTAssertEqual(rank([1, .nan, 0], 1, .conservative), 3)
    }

    /// The vectorised count agrees with a plain loop on long rows with many ties,
    /// including lengths that are not multiples of 16 and targets in the tail.
    func testMatchesScalarReference() {
        var rng = RandomSource(seed: 7)
        for n in [1, 15, 16, 17, 1023, 1024, 1025, 3000] {
            let scores = (0..<n).map { _ in Float(rng.nextInt(below: 20)) }  // many ties
            for _ in 0..<20 {
                let t = rng.nextInt(below: n)
                let ge = scores.enumerated().filter { $0.offset != t && $0.element >= scores[t] }.count
                let gt = scores.filter { $0 > scores[t] }.count
                XCTAssertEqual(rank(scores, t, .conservative), ge + 1, "n=\(n) t=\(t)")
                XCTAssertEqual(rank(scores, t, .strict), gt + 1, "n=\(n) t=\(t)")
            }
        }
    }

    /// With a limit, the result is exact when <= limit and otherwise only known to exceed it.
    func testLimitStopsEarlyButStaysCorrectBelowIt() {
        var scores = [Float](repeating: 1, count: 5000)
        scores[4000] = 0.5
        XCTAssertGreaterThan(rank(scores, 4000, .strict, limit: 20), 20)
        XCTAssertEqual(rank(scores, 4000, .strict), 5000)
        scores = [Float](repeating: 0, count: 5000)
        for i in 0..<7 { scores[3000 + i] = 2 }
        scores[4999] = 1
        XCTAssertEqual(rank(scores, 4999, .strict, limit: 20), 8)
        XCTAssertEqual(rank(scores, 4999, .conservative, limit: 20), 8)
    }
}
