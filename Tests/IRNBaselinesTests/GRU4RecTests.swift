import XCTest
import IRNData
import IRNSupport
@testable import IRNBaselines

final class GRU4RecTests: XCTestCase {
    func testBPRMaxGradientMatchesFiniteDifferences() {
        var rng = RandomSource(seed: 3)
        let b = 4
        var y = (0..<(b * b)).map { _ in rng.nextFloat() * 3 - 1.5 }
        var g = [Float](repeating: 0, count: b * b), tmp = g
        let loss0 = BPRMax.lossAndGradient(y: y, batch: b, bpreg: 1.0, scale: 0.25, grad: &g)
        XCTAssertGreaterThan(loss0, 0)
        let eps: Float = 1e-3
        for k in 0..<(b * b) {
            let v = y[k]
            y[k] = v + eps; let up = BPRMax.lossAndGradient(y: y, batch: b, bpreg: 1.0, scale: 0.25, grad: &tmp)
            y[k] = v - eps; let down = BPRMax.lossAndGradient(y: y, batch: b, bpreg: 1.0, scale: 0.25, grad: &tmp)
            y[k] = v
            XCTAssertEqual(g[k], (up - down) / (2 * eps), accuracy: 2e-3, "y[\(k)]")
        }
        // One row: no negatives, no loss.
        XCTAssertEqual(BPRMax.lossAndGradient(y: [1], batch: 1, bpreg: 1, scale: 1, grad: &tmp), 0)
    }

    /// With extra sampled columns (B = 2 rows, M = 5 columns), every column but the row's own
    /// is a negative, the samples included.
    func testBPRMaxWithSampledColumnsMatchesFiniteDifferences() {
        var rng = RandomSource(seed: 8)
        let b = 2, m = 5
        var y = (0..<(b * m)).map { _ in rng.nextFloat() * 3 - 1.5 }
        var g = [Float](repeating: 0, count: b * m), tmp = g
        BPRMax.lossAndGradient(y: y, batch: b, columns: m, bpreg: 0.5, scale: 1, grad: &g)
        let eps: Float = 1e-3
        for k in 0..<(b * m) {
            let v = y[k]
            y[k] = v + eps; let up = BPRMax.lossAndGradient(y: y, batch: b, columns: m, bpreg: 0.5, scale: 1, grad: &tmp)
            y[k] = v - eps; let down = BPRMax.lossAndGradient(y: y, batch: b, columns: m, bpreg: 0.5, scale: 1, grad: &tmp)
            y[k] = v
            XCTAssertEqual(g[k], (up - down) / (2 * eps), accuracy: 2e-3, "y[\(k)]")
            XCTAssertNotEqual(g[k], 0, "every column of every row takes part")
        }
    }

    /// Cross-entropy over B = 3 rows and M = 5 columns against central differences, and
    /// against the hand-computed value of one row.
    func testSampledSoftmaxGradientMatchesFiniteDifferences() {
        var rng = RandomSource(seed: 9)
        let b = 3, m = 5
        var y = (0..<(b * m)).map { _ in rng.nextFloat() * 4 - 2 }
        var g = [Float](repeating: 0, count: b * m), tmp = g
        let loss = SampledSoftmax.lossAndGradient(y: y, batch: b, columns: m, scale: 0.5, grad: &g)
        var expected = 0.0
        for r in 0..<b {
            let row = y[(r * m)..<(r * m + m)].map { Double($0) }
            expected += -log(exp(row[r]) / row.map { exp($0) }.reduce(0, +))
        }
        XCTAssertEqual(Double(loss), expected * 0.5, accuracy: 1e-5)
        let eps: Float = 1e-3
        for k in 0..<(b * m) {
            let v = y[k]
            y[k] = v + eps; let up = SampledSoftmax.lossAndGradient(y: y, batch: b, columns: m, scale: 0.5, grad: &tmp)
            y[k] = v - eps; let down = SampledSoftmax.lossAndGradient(y: y, batch: b, columns: m, scale: 0.5, grad: &tmp)
            y[k] = v
            XCTAssertEqual(g[k], (up - down) / (2 * eps), accuracy: 2e-3, "y[\(k)]")
        }
        // Each row's gradient sums to zero (softmax minus one-hot).
        for r in 0..<b { XCTAssertEqual(g[(r * m)..<(r * m + m)].reduce(0, +), 0, accuracy: 1e-6) }
    }

    /// The whole step (GRU forward, output layer, elu, BPR-max) against central differences
    /// for every weight, with a repeated input item, a non-zero incoming state and two extra
    /// sampled negatives (one of them also a target, as happens in the reference).
    func testGRUAndBPRMaxGradientMatchesFiniteDifferences() { checkWholeStepGradient(loss: .bprMax) }

    /// The same with the cross-entropy loss (linear scores, no elu).
    func testGRUAndCrossEntropyGradientMatchesFiniteDifferences() { checkWholeStepGradient(loss: .crossEntropy) }

    private func checkWholeStepGradient(loss: GRU4RecModel.Config.Loss) {
        var c = GRU4RecModel.Config()
        c.hidden = 4; c.batchSize = 3; c.seed = 11; c.negativeSamples = 2; c.loss = loss
        let t = GRU4RecTrainer(itemCount: 7, config: c)
        var rng = RandomSource(seed: 4)
        let p = t.params
        // Larger weights than the initialiser gives, so every gate matters.
        for k in 0..<p.count { p.storage[k] = rng.nextFloat() * 1.6 - 0.8 }
        let h = (0..<(3 * 4)).map { _ in rng.nextFloat() - 0.5 }
        let inputs: [Int32] = [1, 3, 1], targets: [Int32] = [2, 5, 6], negatives: [Int32] = [0, 5]
        let g = GRUParameters(itemCount: 7, hidden: 4)
        _ = t.lossAndGradient(inputs: inputs, targets: targets, negatives: negatives, h: h, grad: g)
        let scratch = GRUParameters(itemCount: 7, hidden: 4)
        let eps: Float = 1e-3
        var checked = 0
        for k in 0..<p.count {
            let v = p.storage[k]
            p.storage[k] = v + eps; let up = t.lossAndGradient(inputs: inputs, targets: targets, negatives: negatives, h: h, grad: scratch)
            p.storage[k] = v - eps; let down = t.lossAndGradient(inputs: inputs, targets: targets, negatives: negatives, h: h, grad: scratch)
            p.storage[k] = v
            let fd = (up - down) / (2 * eps)
            XCTAssertEqual(g.storage[k], fd, accuracy: 1e-3 + 2e-2 * abs(fd), "parameter \(k)")
            if fd != 0 { checked += 1 }
        }
        // Untouched rows (items neither fed nor scored: 5 of Wx, 3 of Wy and by) have no gradient.
        XCTAssertGreaterThan(checked, 95, "the weights in play must influence the loss")
    }

    /// The scorer's row equals h' . Wy[i] + by[i] for the state after the fed items, and a
    /// cold-start step (-1) leaves the state alone.
    func testScorerMatchesForwardPass() {
        var c = GRU4RecModel.Config(); c.hidden = 5; c.seed = 2
        let t = GRU4RecTrainer(itemCount: 6, config: c)
        let m = t.model
        let cell = GRUCell(hidden: 5, capacity: 1)
        var h = [Float](repeating: 0, count: 5)
        for x in [Int32(3), 1] {
            [x].withUnsafeBufferPointer { cell.forward(m.parameters, inputs: $0.baseAddress!, h: h, rows: 1) }
            h = Array(UnsafeBufferPointer(start: cell.hNew, count: 5))
        }
        let s = scores(m, after: [3, 1], slots: 3)
        for i in 0..<6 {
            var x = m.parameters.by[i]
            for k in 0..<5 { x += h[k] * m.parameters.wy[i * 5 + k] }
            XCTAssertEqual(s[i], x, accuracy: 1e-5)
        }
        XCTAssertEqual(scores(m, after: [3, 1, -1], slots: 2), s)
    }

    /// On sessions that walk a fixed cycle, training lowers the loss and the next item of
    /// the cycle comes out on top.
    func testTrainingLearnsASequence() { checkLearnsASequence(loss: .bprMax) }

    func testCrossEntropyTrainingLearnsASequence() { checkLearnsASequence(loss: .crossEntropy) }

    private func checkLearnsASequence(loss: GRU4RecModel.Config.Loss) {
        var sessions: [[Int32]] = []
        for s in 0..<60 { sessions.append((0..<6).map { Int32((s + $0) % 8) }) }
        var c = GRU4RecModel.Config(); c.hidden = 16; c.batchSize = 8; c.epochs = 25; c.seed = 1; c.loss = loss
        let t = GRU4RecTrainer(itemCount: 8, config: c)
        var losses: [Double] = []
        t.train(sessionSet(sessions)) { _, loss in losses.append(loss) }
        XCTAssertLessThan(losses.last!, losses.first! * 0.7, "losses \(losses)")
        let m = t.model
        var hits = 0
        for start in 0..<8 {
            let s = scores(m, after: [Int32(start), Int32((start + 1) % 8)])
            if s.indices.max(by: { s[$0] < s[$1] }) == (start + 2) % 8 { hits += 1 }
        }
        XCTAssertGreaterThanOrEqual(hits, 7)
    }

    /// Extra sampled negatives (popularity^alpha) train too, deterministically for a seed.
    func testTrainingWithSampledNegativesIsDeterministic() {
        var sessions: [[Int32]] = []
        for s in 0..<40 { sessions.append((0..<5).map { Int32((s + 2 * $0) % 9) }) }
        var c = GRU4RecModel.Config(); c.hidden = 8; c.batchSize = 4; c.epochs = 3; c.negativeSamples = 6; c.sampleAlpha = 0.5
        let a = GRU4RecTrainer(itemCount: 9, config: c), b = GRU4RecTrainer(itemCount: 9, config: c)
        var la: [Double] = [], lb: [Double] = []
        a.train(sessionSet(sessions)) { _, l in la.append(l) }
        b.train(sessionSet(sessions)) { _, l in lb.append(l) }
        XCTAssertEqual(la, lb)
        XCTAssertEqual(a.params.flat, b.params.flat)
        XCTAssertLessThan(la.last!, la.first!)
    }
}
