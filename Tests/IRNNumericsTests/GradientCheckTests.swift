import XCTest
import IRNSupport
@testable import IRNNumerics

/// Analytic gradients of `WindowBackprop` (Float, BLAS, sparse paths) against central finite
/// differences of the Double reference implementation, for every parameter group and loss.
final class GradientCheckTests: XCTestCase {
    let shape = NetworkShape(items: 7, hidden: 3)
    let k = 3, M = 3

    /// Random parameters with non-zero biases everywhere (so every group matters).
    func parameters(seed: UInt64) -> NetworkParameters {
        var p = NetworkParameters(shape: shape, seed: seed, forgetBias: 1)
        var rng = RandomSource(seed: seed &+ 99)
        for g in [ParameterGroup.gateBias, .policyBias, .valueBias] {
            for i in p.tensors[g.rawValue].indices { p.tensors[g.rawValue][i] += 0.5 * (2 * rng.nextFloat() - 1) }
        }
        // Larger policy weights so logits differ visibly.
        for i in p.tensors[ParameterGroup.policyWeights.rawValue].indices { p.tensors[ParameterGroup.policyWeights.rawValue][i] *= 2 }
        return p
    }

    struct Case {
        var inputs: [Int32]
        var resets: [Bool]
        var h0: [Float]
        var c0: [Float]
        var losses: WindowLosses
    }

    /// A window with a mid-window reset (slot 1 at t = 1), a reset at t = 0 (slot 2), a
    /// non-zero initial state, and a bias-only input (slot 2 at t = 2 is -1).
    func makeCase(policy: Bool, entropy: Bool, value: Bool, logit: Bool, branches: Bool) -> Case {
        let H = shape.hidden
        var rng = RandomSource(seed: 7)
        let inputs: [Int32] = [0, 3, 5,
                               2, 6, 1,
                               4, 4, -1]
        var resets = [Bool](repeating: false, count: k * M)
        resets[1 * M + 1] = true
        resets[0 * M + 2] = true
        let h0 = (0..<(M * H)).map { _ in 0.8 * (2 * rng.nextFloat() - 1) }
        let c0 = (0..<(M * H)).map { _ in 1.5 * (2 * rng.nextFloat() - 1) }
        var l = WindowLosses()
        if policy {
            l.policy.append(.init(index: 0, action: 3, coefficient: 0.7, entropy: entropy ? 0.3 : 0))
            l.policy.append(.init(index: 4, action: 1, coefficient: -0.4, entropy: entropy ? 0.2 : 0))
            l.policy.append(.init(index: 8, action: 6, coefficient: 1.3))
        }
        if value {
            l.value.append(.init(index: 1, target: 5, weight: 0.5))
            l.value.append(.init(index: 5, target: -1, weight: 1))
            l.value.append(.init(index: 6, target: 2, weight: 0.25))
        }
        if logit {
            l.logit.append(.init(index: 2, item: 5, weight: 0.3))
            l.logit.append(.init(index: 3, item: 2, weight: 1))
            l.logit.append(.init(index: 7, item: 2, weight: 0.6))
        }
        if branches {
            l.branchDepth = 2
            // Roots at t = 0, the reset slot, and the last step; repeated items across branches.
            let roots: [Int32] = [0, 4, 4, 6, 8]
            let items: [Int32] = [1, 2, 6, 6, 0, 3, 2, 2, 5, 1]
            for (b, r) in roots.enumerated() {
                l.branchRoots.append(r)
                for d in 0..<2 {
                    l.branchItems.append(items[b * 2 + d])
                    l.branchWeights.append(Float(pow(0.99, Double(d + 1))) * (b == 2 ? 0.5 : 1))
                }
            }
        }
        return Case(inputs: inputs, resets: resets, h0: h0, c0: c0, losses: l)
    }

    func analytic(_ p: NetworkParameters, _ c: Case, forceDense: Bool = false) -> (NetworkGradient, LossBreakdown) {
        let ws = WindowBackprop(shape: shape, slots: M, maxSteps: k, maxBranches: 8, maxDepth: 3)
        ws.forceDensePolicyHead = forceDense
        c.inputs.withUnsafeBufferPointer { i in
            c.resets.withUnsafeBufferPointer { r in
                c.h0.withUnsafeBufferPointer { h in
                    c.c0.withUnsafeBufferPointer { cc in
                        ws.forward(p, steps: k, inputs: i, resets: r, initialH: h, initialC: cc)
                    }
                }
            }
        }
        var g = NetworkGradient(shape: shape)
        let loss = ws.backward(p, losses: c.losses, into: &g)
        return (g, loss)
    }

    func check(_ c: Case, seed: UInt64 = 1, file: StaticString = #filePath, line: UInt = #line) {
        let p = parameters(seed: seed)
        let (g, loss) = analytic(p, c)
        var ref = ReferenceNetwork(p)
        let h0 = c.h0.map(Double.init), c0 = c.c0.map(Double.init)
        let L0 = ref.loss(steps: k, slots: M, inputs: c.inputs, resets: c.resets, h0: h0, c0: c0, losses: c.losses)
        XCTAssertEqual(loss.total, L0, accuracy: 1e-4 * max(1, abs(L0)), "loss value", file: file, line: line)
        let eps = 1e-5
        var worst = 0.0
        for grp in shape.parameterGroups {
            let dense = g[grp].toDense()
            for i in 0..<ref.p[grp.rawValue].count {
                let orig = ref.p[grp.rawValue][i]
                ref.p[grp.rawValue][i] = orig + eps
                let lp = ref.loss(steps: k, slots: M, inputs: c.inputs, resets: c.resets, h0: h0, c0: c0, losses: c.losses)
                ref.p[grp.rawValue][i] = orig - eps
                let lm = ref.loss(steps: k, slots: M, inputs: c.inputs, resets: c.resets, h0: h0, c0: c0, losses: c.losses)
                ref.p[grp.rawValue][i] = orig
                let numeric = (lp - lm) / (2 * eps)
                let err = abs(Double(dense[i]) - numeric)
                worst = max(worst, err / max(1, abs(numeric)))
                XCTAssertLessThan(err, 2e-4 + 2e-3 * abs(numeric), "\(grp.name)[\(i)]: analytic \(dense[i]) vs numeric \(numeric)", file: file, line: line)
            }
        }
        XCTAssertLessThan(worst, 1e-3, file: file, line: line)
    }

    func testPolicyTermGradient() { check(makeCase(policy: true, entropy: false, value: false, logit: false, branches: false)) }
    func testPolicyWithEntropyGradient() { check(makeCase(policy: true, entropy: true, value: false, logit: false, branches: false)) }
    func testValueTermGradient() { check(makeCase(policy: false, entropy: false, value: true, logit: false, branches: false)) }
    func testSparseLogitGradient() { check(makeCase(policy: false, entropy: false, value: false, logit: true, branches: false)) }
    func testImaginedBranchGradient() { check(makeCase(policy: false, entropy: false, value: false, logit: false, branches: true)) }
    func testAllLossesTogether() {
        check(makeCase(policy: true, entropy: true, value: true, logit: true, branches: true))
        check(makeCase(policy: true, entropy: false, value: true, logit: true, branches: true), seed: 5)
    }

    /// Sparse logit errors give row-sparse input and policy gradients touching exactly the
    /// items involved, equal to the dense path's numbers.
    func testSparseAndDensePolicyHeadAgree() {
        let c = makeCase(policy: false, entropy: false, value: true, logit: true, branches: true)
        let p = parameters(seed: 3)
        let (sparse, l1) = analytic(p, c)
        let (dense, l2) = analytic(p, c, forceDense: true)
        XCTAssertEqual(l1, l2)
        XCTAssertFalse(sparse[.policyWeights].isDense)
        XCTAssertFalse(sparse[.policyBias].isDense)
        XCTAssertTrue(dense[.policyWeights].isDense)
        // Items with logit errors: window 5, 2; branches 1, 2, 6, 0, 3, 5.
        XCTAssertEqual(sparse[.policyWeights].rowIndices, [0, 1, 2, 3, 5, 6])
        XCTAssertEqual(sparse[.policyBias].rowIndices, [0, 1, 2, 3, 5, 6])
        XCTAssertFalse(sparse[.inputWeights].isDense)
        for g in shape.parameterGroups {
            let a = sparse[g].toDense(), b = dense[g].toDense()
            for i in a.indices { XCTAssertEqual(a[i], b[i], accuracy: 1e-6 * max(1, abs(b[i])), "\(g.name)[\(i)]") }
        }
        // The input-weight gradient has exactly the fed items' rows (window and branches).
        XCTAssertEqual(sparse[.inputWeights].rowIndices, [0, 1, 2, 3, 4, 5, 6])
        let c2 = makeCase(policy: false, entropy: false, value: true, logit: false, branches: false)
        let (g2, _) = analytic(p, c2)
        XCTAssertEqual(g2[.inputWeights].rowIndices, [0, 1, 2, 3, 4, 5, 6].filter { [0, 3, 5, 2, 6, 1, 4].contains($0) })
        XCTAssertTrue(g2[.policyWeights].rowIndices.isEmpty)
    }

    /// A slot reset at step 0 makes the loss independent of its incoming state, and the
    /// window's initial state gets no gradient path (it is a constant).
    func testResetCutsTheIncomingState() {
        var c = makeCase(policy: true, entropy: false, value: true, logit: true, branches: true)
        c.resets = [Bool](repeating: false, count: k * M)
        for m in 0..<M { c.resets[m] = true }
        let p = parameters(seed: 2)
        let (g1, l1) = analytic(p, c)
        var c2 = c
        c2.h0 = c.h0.map { $0 * -3 + 1 }
        c2.c0 = c.c0.map { $0 * 2 - 0.5 }
        let (g2, l2) = analytic(p, c2)
        XCTAssertEqual(l1.total, l2.total, accuracy: 1e-9)
        XCTAssertEqual(g1, g2)
        // Without the reset, the initial state matters.
        var c3 = c
        c3.resets = [Bool](repeating: false, count: k * M)
        var c4 = c3
        c4.h0 = c2.h0
        XCTAssertNotEqual(analytic(p, c3).1.total, analytic(p, c4).1.total)
    }
}
