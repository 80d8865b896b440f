import XCTest
import IRNData
import IRNSupport
@testable import IRNBaselines

final class BPRTests: XCTestCase {
    private func randomModel() -> BPRModel {
        var c = BPRModel.Config(); c.factors = 3; c.initScale = 0.8; c.seed = 5
        var m = BPRModel(itemCount: 6, config: c)
        var rng = RandomSource(seed: 9)
        m.bias = (0..<6).map { _ in rng.nextFloat() - 0.5 }
        return m
    }

    /// The analytic gradient of the pair loss against central finite differences, with the
    /// positive also present in the context and a repeated context item.
    func testPairLossGradientMatchesFiniteDifferences() {
        let m = randomModel()
        let ctx: [Int32] = [1, 2, 2, 0], pos: Int32 = 2, neg: Int32 = 4, lambda: Float = 0.1
        var gq = [Float](repeating: 0, count: m.q.count), gb = [Float](repeating: 0, count: 6)
        _ = m.pairLoss(context: ctx, positive: pos, negative: neg, regularization: lambda, gradQ: &gq, gradBias: &gb)
        let eps: Float = 1e-2
        var dummyQ = gq, dummyB = gb
        func loss(_ mm: BPRModel) -> Float { mm.pairLoss(context: ctx, positive: pos, negative: neg, regularization: lambda, gradQ: &dummyQ, gradBias: &dummyB) }
        for k in 0..<m.q.count {
            var a = m, b = m
            a.q[k] += eps; b.q[k] -= eps
            XCTAssertEqual(gq[k], (loss(a) - loss(b)) / (2 * eps), accuracy: 2e-3, "q[\(k)]")
        }
        for k in 0..<6 {
            var a = m, b = m
            a.bias[k] += eps; b.bias[k] -= eps
            XCTAssertEqual(gb[k], (loss(a) - loss(b)) / (2 * eps), accuracy: 2e-3, "bias[\(k)]")
        }
        XCTAssertNotEqual(gq[4 * 3], 0)  // the negative's row moves
    }

    /// One SGD step moves every parameter by exactly -lr * gradient.
    func testSGDStepAppliesTheGradient() {
        let m = randomModel()
        let ctx: [Int32] = [1, 2, 2], pos: Int32 = 2, neg: Int32 = 5
        var gq = [Float](repeating: 0, count: m.q.count), gb = [Float](repeating: 0, count: 6)
        _ = m.pairLoss(context: ctx, positive: pos, negative: neg, regularization: 0.05, gradQ: &gq, gradBias: &gb)
        var stepped = m
        var scratch = BPRModel.Scratch(factors: 3)
        stepped.sgdStep(context: ctx, positive: pos, negative: neg, learningRate: 0.3, regularization: 0.05, scratch: &scratch)
        for k in 0..<m.q.count { XCTAssertEqual(stepped.q[k], m.q[k] - 0.3 * gq[k], accuracy: 1e-6) }
        for k in 0..<6 { XCTAssertEqual(stepped.bias[k], m.bias[k] - 0.3 * gb[k], accuracy: 1e-6) }
    }

    /// Items that co-occur (0-1, 2-3, 4-5) end up ranked next to each other, and scoring
    /// uses the mean of the session's factors plus bias.
    func testTrainingLearnsCooccurrence() {
        var sessions: [[Int32]] = []
        for _ in 0..<30 { sessions += [[0, 1], [1, 0], [2, 3], [3, 2], [4, 5], [5, 4]] }
        var c = BPRModel.Config(); c.factors = 8; c.epochs = 30; c.learningRate = 0.1; c.initScale = 0.1
        let m = BPRModel.train(sessionSet(sessions), itemCount: 6, config: c)
        for (a, b) in [(0, 1), (2, 3), (4, 5)] {
            let s = scores(m, after: [Int32(a)])
            let others = (0..<6).filter { $0 != a && $0 != b }
            XCTAssertTrue(others.allSatisfy { s[b] > s[$0] }, "after \(a), \(b) should lead: \(s)")
        }
        let s = scores(m, after: [0, 2])
        let d = m.factors
        for i in 0..<6 {
            var x = m.bias[i]
            for f in 0..<d { x += (m.q[0 * d + f] + m.q[2 * d + f]) / 2 * m.q[i * d + f] }
            XCTAssertEqual(s[i], x, accuracy: 1e-5)
        }
    }
}
