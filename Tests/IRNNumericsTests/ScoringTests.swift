import XCTest
import IRNSupport
@testable import IRNNumerics

final class ScoringTests: XCTestCase {
    let shape = NetworkShape(items: 6, hidden: 4)

    /// scoreStep's logits equal the Double reference's, with -1 keeping a slot's state and
    /// resets zeroing it.
    func testScoreStepMatchesReference() {
        let p = NetworkParameters(shape: shape, seed: 11)
        let ref = ReferenceNetwork(p)
        let M = 3, H = shape.hidden, N = shape.items
        var state = RecurrentState(slots: M, hidden: H)
        var refH = [[Double]](repeating: [Double](repeating: 0, count: H), count: M), refC = refH
        let feeds: [[Int32]] = [[1, 2, 3], [4, -1, 0], [5, 5, -1], [0, 1, 2]]
        let resets: [[Bool]] = [[false, false, false], [false, false, false], [false, true, false], [true, false, false]]
        var logits = [Float](repeating: 0, count: M * N)
        for (step, f) in feeds.enumerated() {
            f.withUnsafeBufferPointer { fi in
                resets[step].withUnsafeBufferPointer { r in
                    logits.withUnsafeMutableBufferPointer { l in p.scoreStep(inputs: fi, resets: r, state: &state, logits: l) }
                }
            }
            for m in 0..<M {
                if resets[step][m] { refH[m] = [Double](repeating: 0, count: H); refC[m] = refH[m] }
                if f[m] >= 0 { (refH[m], refC[m]) = ref.step(refH[m], refC[m], f[m]) }
                for j in 0..<N {
                    XCTAssertEqual(Double(logits[m * N + j]), ref.logit(refH[m], j), accuracy: 1e-5, "step \(step) slot \(m) item \(j)")
                }
            }
        }
        let v = p.values(of: state)
        for m in 0..<M { XCTAssertEqual(Double(v[m]), ref.value(refH[m]), accuracy: 1e-5) }
    }

    /// Rows declared at the zero state skip the recurrent sgemm and still get bit-identical
    /// (h, c) to a step that multiplies their zero h; the other rows are unaffected (to float
    /// rounding: OpenBLAS may pick another kernel for fewer rows, which on some CPUs changes
    /// the last bit).
    func testInferenceStepSkipsZeroStateRowsExactly() {
        let p = NetworkParameters(shape: NetworkShape(items: 40, hidden: 16), seed: 5)
        let H = 16, R = 5, zero = 2
        var rng = RandomSource(seed: 9)
        var h = (0..<(R * H)).map { _ in Float(rng.nextDouble() * 2 - 1) }
        var c = (0..<(R * H)).map { _ in Float(rng.nextDouble() * 2 - 1) }
        for i in (R - zero) * H ..< R * H { h[i] = 0; c[i] = 0 }
        let items: [Int32] = [3, 17, 39, 0, 17]
        var h2 = h, c2 = c
        var g1 = [Float](repeating: .nan, count: R * 5 * H), g2 = g1
        let recorder = GemmRecorder()
        p.withPointers { pp in
            items.withUnsafeBufferPointer { it in
                LSTMKernels.inferenceStep(pp, rows: R, items: it.baseAddress!, h: &h, c: &c, gates: &g1)
                LSTMKernels.inferenceStep(pp, rows: R, items: it.baseAddress!, h: &h2, c: &c2, gates: &g2, zeroStateRows: zero, recorder: recorder)
            }
        }
        XCTAssertEqual(recorder.shapes.map(\.m), [R - zero], "the zero-state rows must not enter the sgemm")
        let skipped = (R - zero) * H ..< R * H
        XCTAssertEqual(h[skipped].map(\.bitPattern), h2[skipped].map(\.bitPattern))
        XCTAssertEqual(c[skipped].map(\.bitPattern), c2[skipped].map(\.bitPattern))
        for i in 0 ..< (R - zero) * H {
            XCTAssertEqual(h[i], h2[i], accuracy: 1e-6, "h[\(i)]")
            XCTAssertEqual(c[i], c2[i], accuracy: 1e-6, "c[\(i)]")
        }
        XCTAssertTrue(h2.allSatisfy(\.isFinite))
        XCTAssertNotEqual(Array(h2[(R - 1) * H ..< R * H]), [Float](repeating: 0, count: H))
    }

    func testGlorotInitIsSeededAndBounded() {
        let a = NetworkParameters(shape: shape, seed: 3, forgetBias: 1)
        let b = NetworkParameters(shape: shape, seed: 3, forgetBias: 1)
        let c = NetworkParameters(shape: shape, seed: 4, forgetBias: 1)
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, c)
        let limit = Float((6.0 / Double(6 + 16)).squareRoot())
        XCTAssertLessThanOrEqual(a[.inputWeights].map(abs).max()!, limit)
        XCTAssertGreaterThan(a[.inputWeights].map(abs).max()!, 0.8 * limit)
        XCTAssertEqual(Array(a[.gateBias][4..<8]), [1, 1, 1, 1])
        XCTAssertEqual(Array(a[.gateBias][0..<4]) + Array(a[.gateBias][8..<16]), [Float](repeating: 0, count: 12))
        a.withNamedTensors { list in
            XCTAssertEqual(list.map(\.name), ParameterGroup.plainGroups.map(\.name))
            XCTAssertEqual(list[0].shape, [6, 16])
            XCTAssertEqual(list[3].shape, [6, 4])
            XCTAssertEqual(list[6].shape, [1])
        }
    }

    func testFastMathAccuracy() {
        var worst: Float = 0
        var x: Float = -87
        while x < 88 {
            let rel = abs(FastMath.exp(x) - Foundation.exp(x)) / Foundation.exp(x)
            worst = max(worst, rel)
            x += 0.0137
        }
        XCTAssertLessThan(worst, 5e-7)
        // The 8-lane versions compute the same numbers as the scalar ones.
        for base in stride(from: Float(-90), to: 90, by: 1.37) {
            let v = SIMD8<Float>((0..<8).map { base + Float($0) * 0.173 })
            let e = FastMath.exp(v), s = FastMath.sigmoid(v), t = FastMath.tanh(v)
            for l in 0..<8 {
                XCTAssertEqual(e[l], FastMath.exp(v[l]))
                XCTAssertEqual(s[l], FastMath.sigmoid(v[l]))
                XCTAssertEqual(t[l], FastMath.tanh(v[l]))
            }
        }
        for x in stride(from: Float(-20), through: 20, by: 0.01) {
            XCTAssertEqual(FastMath.tanh(x), Foundation.tanh(x), accuracy: 3e-7)
            XCTAssertEqual(FastMath.sigmoid(x), 1 / (1 + Foundation.exp(-x)), accuracy: 3e-7)
        }
    }

    /// Block-sum sampling picks the index whose CDF interval holds u (up to Float rounding).
    func testSoftmaxSamplingFollowsTheCDF() {
        var rng = RandomSource(seed: 12)
        for n in [1, 5, 63, 64, 65, 200, 1000] {
            var z = (0..<n).map { _ in 4 * rng.nextFloat() - 2 }
            let bias = (0..<n).map { _ in rng.nextFloat() - 0.5 }
            let expected = zip(z, bias).map { Double($0 + $1) }
            let zmax = expected.max()!
            let w = expected.map { Foundation.exp($0 - zmax) }
            let total = w.reduce(0, +)
            var blocks = [Float](repeating: 0, count: n / 64 + 1)
            let t = z.withUnsafeMutableBufferPointer { zp in
                bias.withUnsafeBufferPointer { bp in
                    blocks.withUnsafeMutableBufferPointer { FastMath.softmaxWeights(zp.baseAddress!, bias: bp.baseAddress!, count: n, blockSums: $0.baseAddress!) }
                }
            }
            XCTAssertEqual(Double(t), total, accuracy: 1e-5 * total)
            for i in 0..<n { XCTAssertEqual(Double(z[i]), w[i], accuracy: 1e-6) }
            for _ in 0..<200 {
                let u = rng.nextFloat()
                let j = z.withUnsafeBufferPointer { zp in
                    blocks.withUnsafeBufferPointer { FastMath.sampleIndex(zp.baseAddress!, count: n, blockSums: $0.baseAddress!, total: t, u: u) }
                }
                let below = w[0..<j].reduce(0, +), upTo = below + w[j]
                let x = Double(u) * total
                XCTAssertTrue(below - 1e-4 * total <= x && x <= upTo + 1e-4 * total, "n \(n) u \(u) picked \(j)")
            }
        }
    }
}
