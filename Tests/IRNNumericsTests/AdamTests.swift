import XCTest
@testable import IRNNumerics

final class AdamTests: XCTestCase {
    let shape = NetworkShape(items: 2, hidden: 1)

    /// Gradient that is `g` on input-weight entry (0, 0) only (row-sparse, row 0), zero elsewhere.
    func gradient(_ g: Float?) -> NetworkGradient {
        var grad = NetworkGradient(shape: shape)
        if let g {
            grad[.inputWeights] = GradientTensor(rows: 2, width: 4, rowIndices: [0], values: [g, 0, 0, 0])
        }
        return grad
    }

    func params() -> NetworkParameters {
        var p = NetworkParameters(shape: shape)
        p.tensors[ParameterGroup.inputWeights.rawValue] = [0.25, 0, 0, 0, -0.5, 0, 0, 0]
        return p
    }

    /// Hand computation (lr 1e-3, betas 0.9/0.999, eps 1e-8), theta0 = 0.25:
    /// t=1, g=0.5: m=0.05, v=0.00025, m^=0.5, v^=0.25, theta = 0.25 - 1e-3*0.5/(0.5+1e-8) = 0.24900000002
    /// t=2, g=-1: m=-0.055, v=0.00124975, m^=-0.055/0.19=-0.28947368, v^=0.00124975/0.001999=0.62518759,
    ///   theta = 0.24900000002 + 1e-3*0.28947368/(0.79068805+1e-8) = 0.24936610354
    /// t=3, g=0 (textbook): m=-0.0495, v=0.0012485, m^=-0.18265683, v^=0.41658319,
    ///   theta = 0.24936610354 + 1e-3*0.18265683/0.64543256 = 0.24964910263
    func testAgainstHandComputedSteps() {
        for lazy in [false, true] {
            var adam = Adam(shape: shape, config: AdamConfig(lazySparse: lazy))
            var p = params()
            adam.apply(gradient(0.5), to: &p)
            XCTAssertEqual(p[.inputWeights][0], 0.24900000002, accuracy: 2e-8)
            adam.apply(gradient(-1), to: &p)
            XCTAssertEqual(p[.inputWeights][0], 0.24936610354, accuracy: 3e-8)
            adam.apply(gradient(nil), to: &p)
            // Lazy: an untouched row keeps its parameter; textbook: it keeps moving on momentum.
            XCTAssertEqual(p[.inputWeights][0], lazy ? 0.24936610354 : 0.24964910263, accuracy: 3e-8)
            // Row 1 never had a gradient: its moments are zero, so it never moves.
            XCTAssertEqual(p[.inputWeights][4], -0.5)
            XCTAssertEqual(adam.step, 3)
        }
    }

    /// When every row is touched, lazy and textbook Adam are the same computation.
    func testLazyEqualsDenseWhenAllRowsTouched() {
        let s = NetworkShape(items: 5, hidden: 2)
        var pa = NetworkParameters(shape: s, seed: 4), pb = pa
        var a = Adam(shape: s, config: AdamConfig(lazySparse: true))
        var b = Adam(shape: s, config: AdamConfig(lazySparse: false))
        for step in 0..<4 {
            var g = NetworkGradient(shape: s)
            let rows: [Int32] = [0, 1, 2, 3, 4]
            g[.inputWeights] = GradientTensor(rows: 5, width: 8, rowIndices: rows, values: (0..<40).map { Float(($0 * 7 + step) % 11) / 10 - 0.5 })
            g[.policyWeights] = GradientTensor(rows: 5, width: 2, rowIndices: rows.reversed(), values: (0..<10).map { Float($0 + step) / 10 })
            var gd = g
            // The same gradient in dense layout must give the same update too.
            gd[.inputWeights] = GradientTensor(rows: 5, width: 8, layout: .dense, rowIndices: [], values: g[.inputWeights].toDense())
            a.apply(g, to: &pa)
            b.apply(gd, to: &pb)
        }
        XCTAssertEqual(pa, pb)
    }
}

extension AdamTests {
    /// Saved and restored moments continue exactly like an uninterrupted run.
    func testMomentsRoundTripResumesExactly() throws {
        let s = NetworkShape(items: 4, hidden: 2)
        var p = NetworkParameters(shape: s, seed: 1)
        var a = Adam(shape: s)
        var g = NetworkGradient(shape: s)
        g[.recurrentWeights] = GradientTensor(rows: 2, width: 8, layout: .dense, rowIndices: [], values: (0..<16).map { Float($0) / 16 - 0.4 })
        g[.inputWeights] = GradientTensor(rows: 4, width: 8, rowIndices: [1, 3], values: (0..<16).map { Float($0) / 10 })
        a.apply(g, to: &p)
        var b = Adam(shape: s)
        try b.restore(step: a.step, named: Dictionary(uniqueKeysWithValues: a.namedMoments().map { ($0.name, $0.values) }))
        var pa = p, pb = p
        a.apply(g, to: &pa)
        b.apply(g, to: &pb)
        XCTAssertEqual(pa, pb)
        XCTAssertThrowsError(try b.restore(step: 1, named: [:]))
    }
}

final class GradientTensorTests: XCTestCase {
    func testSparseInitMergesDuplicateRows() {
        let a = GradientTensor(rows: 6, width: 2, rowIndices: [4, 1, 4], values: [1, 2, 3, 4, 10, 20])
        XCTAssertEqual(a.rowIndices, [1, 4])
        XCTAssertEqual(a.values, [3, 4, 11, 22])
    }
}

final class NamedPartsTests: XCTestCase {
    func testGradientAndParametersRoundTripByName() throws {
        let s = NetworkShape(items: 5, hidden: 2)
        var g = NetworkGradient(shape: s)
        g[.inputWeights] = GradientTensor(rows: 5, width: 8, rowIndices: [3, 1], values: (0..<16).map(Float.init))
        g[.valueBias] = GradientTensor(rows: 1, width: 1, layout: .dense, rowIndices: [], values: [2])
        let parts = g.namedParts
        XCTAssertEqual(parts[0].name, "lstm.input_weights")
        XCTAssertEqual(parts[0].rows, [1, 3])
        XCTAssertEqual(parts[0].shape, [5, 8])
        XCTAssertEqual(try NetworkGradient(shape: s, namedParts: parts), g)
        XCTAssertThrowsError(try NetworkGradient(shape: s, namedParts: [TensorPart(name: "nope", shape: [1], rows: nil, values: [1])]))
        XCTAssertThrowsError(try NetworkGradient(shape: s, namedParts: [TensorPart(name: "policy.bias", shape: [5], rows: [3, 2], values: [1, 1])]))
        XCTAssertThrowsError(try NetworkGradient(shape: s, namedParts: [TensorPart(name: "policy.weight", shape: [5, 3], rows: nil, values: [])]))

        let p = NetworkParameters(shape: s, seed: 2)
        var q = NetworkParameters(shape: s)
        try q.assign(p.namedParts)
        XCTAssertEqual(p, q)
        try q.assign([TensorPart(name: "policy.weight", shape: [5, 2], rows: [4], values: [7, 8])])
        XCTAssertEqual(Array(q[.policyWeights][8..<10]), [7, 8])
        XCTAssertEqual(Array(q[.policyWeights][0..<8]), Array(p[.policyWeights][0..<8]))
    }
}
