import XCTest
import IRNSupport
@testable import IRNNumerics

/// The vectorised Adam kernel (eight lanes, then a scalar tail) against Adam's textbook formula
/// in Double, on tensors whose widths are not multiples of eight, in both sparse modes.
final class AdamKernelTests: XCTestCase {
    func testKernelMatchesDoubleReferenceOnVectorBodyAndTail() {
        let shape = NetworkShape(items: 7, hidden: 5)  // policy 7 x 5 = 35 dense; input rows of 20
        for lazy in [false, true] {
            let config = AdamConfig(learningRate: 0.01, lazySparse: lazy)
            var adam = Adam(shape: shape, config: config)
            var p = NetworkParameters(shape: shape, seed: 9)
            var rng = RandomSource(seed: 21)
            let groups: [ParameterGroup] = [.policyWeights, .inputWeights]
            var theta = groups.map { p[$0].map(Double.init) }
            var m = groups.map { [Double](repeating: 0, count: p[$0].count) }
            var v = m
            let rows: [Int32] = [1, 4]
            for t in 1...4 {
                var g = NetworkGradient(shape: shape)
                let dense = (0..<35).map { _ in Float(rng.nextFloat() * 2 - 1) }
                let sparse = (0..<40).map { _ in Float(rng.nextFloat() * 2 - 1) }
                g[.policyWeights] = GradientTensor(rows: 7, width: 5, layout: .dense, rowIndices: [], values: dense)
                g[.inputWeights] = GradientTensor(rows: 7, width: 20, rowIndices: rows, values: sparse)
                adam.apply(g, to: &p)

                let c1 = 1 - pow(0.9, Double(t)), c2 = 1 - pow(0.999, Double(t))
                func step(_ k: Int, _ j: Int, _ grad: Double) {
                    m[k][j] = 0.9 * m[k][j] + 0.1 * grad
                    v[k][j] = 0.999 * v[k][j] + 0.001 * grad * grad
                    theta[k][j] -= 0.01 * (m[k][j] / c1) / ((v[k][j] / c2).squareRoot() + 1e-8)
                }
                for j in 0..<35 { step(0, j, Double(dense[j])) }
                for r in 0..<7 {
                    let i = rows.firstIndex(of: Int32(r))
                    if i == nil && lazy { continue }  // lazy: untouched rows stay as they are
                    for c in 0..<20 { step(1, r * 20 + c, i.map { Double(sparse[$0 * 20 + c]) } ?? 0) }
                }
                for (k, group) in groups.enumerated() {
                    for j in 0..<theta[k].count {
                        XCTAssertEqual(Double(p[group][j]), theta[k][j], accuracy: 2e-6,
                                       "lazy \(lazy) step \(t) \(group.name)[\(j)]")
                    }
                }
            }
        }
    }

    /// A row that waited k pushes (`rowSteps`): its summed gradient G taken as k steps of G / k.
    /// Against k textbook steps (Double, the step's bias corrections): the moments exact; the
    /// parameter's move within the spread of 1 / sqrt(v) over the k sub-steps times the gross
    /// path (sum of |sub-step|: the closed form replaces the k second-moment values by their
    /// mean); a count of 1 is the ordinary step bit for bit.
    func testRowStepsAreKStepsOfTheMeanGradient() {
        let shape = NetworkShape(items: 7, hidden: 5)  // input rows of width 20
        let config = AdamConfig(learningRate: 0.01)
        var rng = RandomSource(seed: 5)
        // Moments as after some training (so the second moment is of the gradient's size).
        var warm = Adam(shape: shape, config: config)
        var p0 = NetworkParameters(shape: shape, seed: 3)
        for _ in 0..<30 {
            var g = NetworkGradient(shape: shape)
            g[.inputWeights] = GradientTensor(rows: 7, width: 20, rowIndices: [0, 2, 3, 6], values: (0..<80).map { _ in Float(rng.nextFloat() - 0.5) })
            warm.apply(g, to: &p0)
        }
        let rows: [Int32] = [0, 2, 3, 6], counts: [Int32] = [1, 2, 7, 49]
        let grad = (0..<80).map { _ in Float(rng.nextFloat() - 0.5) }
        var adam = warm, plain = warm, p = p0, q = p0
        let step = adam.beginStep()
        _ = plain.beginStep()
        adam.updateInputRows(rows, grad, steps: counts, step: step, parameters: &p)
        plain.updateInputRows(rows, grad, step: step, parameters: &q)
        let g = ParameterGroup.inputWeights.rawValue
        let t = Double(warm.step + 1), c1 = 1 - pow(0.9, t), c2 = 1 - pow(0.999, t)
        for (i, r) in rows.enumerated() {
            let k = Double(counts[i])
            for c in 0..<20 {
                let j = Int(r) * 20 + c
                var m = Double(warm.firstMoments[g][j]), v = Double(warm.secondMoments[g][j]), theta = Double(p0[.inputWeights][j])
                let sub = Double(grad[i * 20 + c]) / k
                var vRange = (v, v), gross = 0.0
                for _ in 0..<Int(k) {
                    m = 0.9 * m + 0.1 * sub
                    v = 0.999 * v + 0.001 * sub * sub
                    let d = 0.01 * (m / c1) / ((v / c2).squareRoot() + 1e-8)
                    theta -= d
                    gross += abs(d)
                    vRange = (min(vRange.0, v), max(vRange.1, v))
                }
                if counts[i] == 1 { vRange = (v, v) }
                let label = "row \(r) (\(counts[i]) steps) [\(c)]"
                XCTAssertEqual(Double(adam.firstMoments[g][j]), m, accuracy: 1e-6, label)
                XCTAssertEqual(Double(adam.secondMoments[g][j]), v, accuracy: 1e-5 * v + 1e-12, label)
                let move = theta - Double(p0[.inputWeights][j])
                let spread = (vRange.1 / vRange.0).squareRoot() - 1
                XCTAssertEqual(Double(p[.inputWeights][j]) - Double(p0[.inputWeights][j]), move, accuracy: spread * gross + 1e-7, label)
                if counts[i] == 1 {
                    XCTAssertEqual(p[.inputWeights][j], q[.inputWeights][j], "one step: the ordinary kernel, bit for bit")
                }
            }
        }
    }

    /// A row whose k = 50 pushes alternate q(1 + c), q(1 - c) (c = 5) reaches the server as
    /// their sum k q. Fed its square ratio 1 + c^2 (mean square over squared mean), the closed
    /// form's second moment and move match the 50 textbook steps on the real sequence; fed the
    /// mean's square alone (`steps`), v is 26 times too small and the row moves 5 times too far
    /// (sqrt(26)).
    func testSquareRatiosGiveTheSecondMomentOfTheRealPushes() {
        let shape = NetworkShape(items: 7, hidden: 5)  // input rows of width 20
        let config = AdamConfig(learningRate: 0.01)
        var rng = RandomSource(seed: 11)
        let k = 50, c: Float = 5, ratio = 1 + c * c
        let q = (0..<20).map { _ in Float(rng.nextFloat() - 0.5) * 1e-3 }
        let sum = q.map { $0 * Float(k) }
        let rows: [Int32] = [3], counts: [Int32] = [Int32(k)], ratios: [Float] = [ratio]
        let p0 = NetworkParameters(shape: shape, seed: 3)
        var withRatios = Adam(shape: shape, config: config), stepsOnly = withRatios
        var p = p0, s = p0
        let step = withRatios.beginStep()
        _ = stepsOnly.beginStep()
        withRatios.updateInputRows(rows, sum, steps: counts, ratios: ratios, step: step, parameters: &p)
        stepsOnly.updateInputRows(rows, sum, steps: counts, step: step, parameters: &s)
        let g = ParameterGroup.inputWeights.rawValue
        let c1 = 1 - pow(0.9, 1.0), c2 = 1 - pow(0.999, 1.0)
        for e in 0..<20 {
            let j = 3 * 20 + e
            var m = 0.0, v = 0.0, move = 0.0
            for t in 0..<k {  // the real pushes, one textbook step each (bias correction of step 1, as the server's)
                let gj = Double(q[e]) * (t % 2 == 0 ? 1 + Double(c) : 1 - Double(c))
                m = 0.9 * m + 0.1 * gj
                v = 0.999 * v + 0.001 * gj * gj
                move -= 0.01 * (m / c1) / ((v / c2).squareRoot() + 1e-8)
            }
            let label = "element \(e)"
            XCTAssertEqual(Double(withRatios.secondMoments[g][j]), v, accuracy: 0.01 * v, label)
            XCTAssertEqual(Double(stepsOnly.secondMoments[g][j]) * Double(ratio), v, accuracy: 0.01 * v, label)
            let got = Double(p[.inputWeights][j] - p0[.inputWeights][j]), gotSteps = Double(s[.inputWeights][j] - p0[.inputWeights][j])
            // (From zero moments the textbook's first sub-steps see one or two real gradients,
            // the closed form their mean: 16% apart here; `steps` is 5x off.)
            XCTAssertEqual(got, move, accuracy: 0.2 * abs(move), label)
            XCTAssertGreaterThan(abs(gotSteps), 3 * abs(move), label)
        }
        // Ratio 1 is the steps kernel, bit for bit.
        var a = Adam(shape: shape, config: config), b = a
        var pa = p0, pb = p0
        let sa = a.beginStep(), sb = b.beginStep()
        let one: [Float] = [1]
        a.updateInputRows(rows, sum, steps: counts, ratios: one, step: sa, parameters: &pa)
        b.updateInputRows(rows, sum, steps: counts, step: sb, parameters: &pb)
        XCTAssertEqual(pa[.inputWeights], pb[.inputWeights])
        XCTAssertEqual(a.secondMoments[g], b.secondMoments[g])
    }
}

private extension Adam {
    /// A lazy row-sparse update of the input weights from arrays, with step counts and square
    /// ratios when given (nil: one ordinary step per row; the mean's square).
    mutating func updateInputRows(_ rows: [Int32], _ values: [Float], steps: [Int32]? = nil, ratios: [Float]? = nil,
                                  step: AdamStep, parameters: inout NetworkParameters) {
        rows.withUnsafeBufferPointer { r in
            values.withUnsafeBufferPointer { v in
                (steps ?? []).withUnsafeBufferPointer { n in
                    (ratios ?? []).withUnsafeBufferPointer { x in
                        update(.inputWeights, dense: false, rows: r, values: v, rowSteps: steps == nil ? nil : n,
                               rowSquareRatios: ratios == nil ? nil : x, step: step, parameters: &parameters)
                    }
                }
            }
        }
    }
}
