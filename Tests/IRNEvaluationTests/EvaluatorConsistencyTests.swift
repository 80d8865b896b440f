import XCTest
import IRNData
import IRNSupport
@testable import IRNEvaluation

/// Scores that depend on the whole fed prefix (a running hash), so that any mix-up of slots,
/// sessions or positions changes the figures.
private struct PrefixHashModel: Recommender {
    let itemCount: Int
    func makeScorer(slots: Int) -> any SessionScorer { Scorer(itemCount: itemCount, state: [UInt64](repeating: 0, count: slots)) }

    static func score(state: UInt64, item: Int) -> Float {
        // Coarse values (0..<8) so that ties are frequent.
        Float(StableHash.fnv1a(state &* 31 &+ UInt64(item)) % 8)
    }

    struct Scorer: SessionScorer {
        let itemCount: Int
        var state: [UInt64]
        mutating func reset(slot: Int) { state[slot] = 0 }
        mutating func step(inputs: UnsafeBufferPointer<Int32>, active: UnsafeBufferPointer<Bool>,
                           scores: UnsafeMutableBufferPointer<Float>) {
            for s in 0..<active.count where active[s] {
                if inputs[s] >= 0 { state[s] = StableHash.fnv1a(state[s] &+ UInt64(inputs[s]) &+ 1) }
                for i in 0..<itemCount { scores[s * itemCount + i] = PrefixHashModel.score(state: state[s], item: i) }
            }
        }
    }
}

final class EvaluatorConsistencyTests: XCTestCase {
    /// The lock-step, multi-slot, multi-thread evaluator agrees with a direct per-event loop
    /// written out here, for both tie rules and with a cold-start cap.
    func testMatchesDirectLoopForAnySlotAndThreadCount() throws {
        var rng = RandomSource(seed: 21)
        let n = 37
        var data = SessionSet()
        for s in 0..<120 {
            let len = 1 + rng.nextInt(below: 9)
            data.append(id: Int64(s), items: (0..<len).map { _ in Int32(rng.nextInt(below: n)) },
                        types: (0..<len).map { _ in rng.nextInt(below: 4) == 0 ? 1 : 0 }, times: (0..<len).map { Int64($0) })
        }
        let model = PrefixHashModel(itemCount: n)
        for ties in TieRule.allCases {
            for cap in [nil, 2] as [Int?] {
                var expected = MetricsAccumulator(cutoffs: [1, 5, 10])
                for s in 0..<data.count {
                    var state: UInt64 = 0
                    let r = data.range(of: s)
                    for t in 1..<max(r.count, 1) {
                        if t - 1 < (cap ?? .max) { state = StableHash.fnv1a(state &+ UInt64(data.items[r.lowerBound + t - 1]) &+ 1) }
                        let target = Int(data.items[r.lowerBound + t])
                        let ts = PrefixHashModel.score(state: state, item: target)
                        var rank = 1
                        for i in 0..<n where i != target {
                            let si = PrefixHashModel.score(state: state, item: i)
                            if ties == .conservative ? si >= ts : si > ts { rank += 1 }
                        }
                        expected.add(rank: rank, to: data.types[r.lowerBound + t] == 1 ? .purchase : .click)
                        if t == 1 { expected.add(rank: rank, to: .first) }
                    }
                }
                for (threads, slots) in [(1, 1), (1, 7), (2, 5), (2, 64)] {
                    let got = try Evaluator.evaluate(model, on: data, options: EvaluationOptions(
                        cutoffs: [1, 5, 10], ties: ties, coldStart: cap, threads: threads, slots: slots))
                    for c in EvaluationCategory.allCases {
                        let e = expected.metrics(c), g = got[c]
                        XCTAssertEqual(g.count, e.count, "\(ties) cap \(String(describing: cap)) \(threads)x\(slots) \(c.name)")
                        for j in 0..<3 {
                            XCTAssertEqual(g.recall[j], e.recall[j], accuracy: 1e-12)
                            XCTAssertEqual(g.mrr[j], e.mrr[j], accuracy: 1e-12)
                        }
                    }
                }
            }
        }
    }
}
