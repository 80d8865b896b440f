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
}
