import XCTest
import IRNSupport
@testable import IRNNumerics

/// The repeat head's gradients (W_g, b_g, and every other group through h and the policy
/// softmax) against central finite differences of the Double reference.
final class RepeatHeadGradientTests: XCTestCase {
    let k = 3, M = 3

    func shape(_ head: PolicyHead) -> NetworkShape { NetworkShape(items: 7, hidden: 3, head: head) }

    /// Random parameters with non-zero biases and a non-zero gate, so every path matters.
    func parameters(_ s: NetworkShape, seed: UInt64) -> NetworkParameters {
        var p = NetworkParameters(shape: s, seed: seed, forgetBias: 1, repeatGateBias: [0.8, -0.6, 1.1, 0.4])
        var rng = RandomSource(seed: seed &+ 99)
        for g in [ParameterGroup.gateBias, .policyBias, .valueBias] {
            for i in p.tensors[g.rawValue].indices { p.tensors[g.rawValue][i] += 0.5 * (2 * rng.nextFloat() - 1) }
        }
        for i in p.tensors[ParameterGroup.policyWeights.rawValue].indices { p.tensors[ParameterGroup.policyWeights.rawValue][i] *= 2 }
        for i in p.tensors[ParameterGroup.repeatGateWeights.rawValue].indices {
            p.tensors[ParameterGroup.repeatGateWeights.rawValue][i] = 1.5 * (2 * rng.nextFloat() - 1)
        }
        return p
    }

    /// A window whose prefixes come from a real `PrefixTracker` fed with the window's inputs
    /// (slot 1 resets at t = 1, slot 2 at t = 0; slot 0 repeats item 0), plus every other loss.
    func makeCase(_ s: NetworkShape, entropy: Bool, others: Bool) -> (inputs: [Int32], resets: [Bool], h0: [Float], c0: [Float], losses: WindowLosses) {
        let H = s.hidden
        var rng = RandomSource(seed: 7)
        let inputs: [Int32] = [0, 3, 5,
                               2, 6, 1,
                               0, 4, 1]
        var resets = [Bool](repeating: false, count: k * M)
        resets[1 * M + 1] = true
        resets[0 * M + 2] = true
        let h0 = (0..<(M * H)).map { _ in 0.8 * (2 * rng.nextFloat() - 1) }
        let c0 = (0..<(M * H)).map { _ in 1.5 * (2 * rng.nextFloat() - 1) }
        var l = WindowLosses()
        // Slot 0 had items 4 and 0 before the window.
        var tracker = PrefixTracker(slots: M, head: s.head)
        tracker.feed(slot: 0, item: 4); tracker.feed(slot: 0, item: 0)
        tracker.feed(slot: 1, item: 6)
        // Policy terms at (t, m) = (0,0) action in the prefix, (1,1) action not in it, (2,0)
        // action 0 (repeated), (2,2) action 5 (in the prefix, not last).
        let terms: [(Int32, Int32, Float)] = [(0, 4, 0.7), (4, 1, -0.4), (6, 0, 1.3), (8, 5, 0.9)]
        var next = 0
        for i in 0..<(k * M) {
            let m = i % M
            if resets[i] { tracker.reset(slot: m) }
            tracker.feed(slot: m, item: inputs[i])
            if next < terms.count && terms[next].0 == Int32(i) {
                l.policy.append(.init(index: terms[next].0, action: terms[next].1, coefficient: terms[next].2, entropy: entropy ? 0.3 : 0))
                l.appendPolicyPrefix(from: tracker, slot: m)
                next += 1
            }
        }
        if others {
            l.value.append(.init(index: 1, target: 5, weight: 0.5))
            l.value.append(.init(index: 6, target: 2, weight: 0.25))
            l.logit.append(.init(index: 3, item: 2, weight: 1))
            l.branchDepth = 2
            for (b, r) in [Int32(0), 4, 8].enumerated() {
                l.branchRoots.append(r)
                l.branchItems.append(contentsOf: [Int32(b + 1), Int32(6 - b)])
                l.branchWeights.append(contentsOf: [0.99, 0.98])
            }
        }
        return (inputs, resets, h0, c0, l)
    }

    func check(_ head: PolicyHead, entropy: Bool, others: Bool, seed: UInt64 = 1, file: StaticString = #filePath, line: UInt = #line) {
        let s = shape(head)
        let p = parameters(s, seed: seed)
        let c = makeCase(s, entropy: entropy, others: others)
        XCTAssertGreaterThan(c.losses.policyPrefixItems.count, 6, "the case has real prefixes", file: file, line: line)
        let ws = WindowBackprop(shape: s, slots: M, maxSteps: k, maxBranches: 4, maxDepth: 2)
        c.inputs.withUnsafeBufferPointer { i in
            c.resets.withUnsafeBufferPointer { r in
                c.h0.withUnsafeBufferPointer { h in
                    c.c0.withUnsafeBufferPointer { cc in ws.forward(p, steps: k, inputs: i, resets: r, initialH: h, initialC: cc) }
                }
            }
        }
        var g = NetworkGradient(shape: s)
        let loss = ws.backward(p, losses: c.losses, into: &g)
        var ref = ReferenceNetwork(p)
        let h0 = c.h0.map(Double.init), c0 = c.c0.map(Double.init)
        func L() -> Double { ref.loss(steps: k, slots: M, inputs: c.inputs, resets: c.resets, h0: h0, c0: c0, losses: c.losses) }
        let L0 = L()
        XCTAssertEqual(loss.total, L0, accuracy: 1e-4 * max(1, abs(L0)), "loss value", file: file, line: line)
        XCTAssertEqual(g.parts.count, 9, file: file, line: line)
        let eps = 1e-5
        for grp in s.parameterGroups {
            let dense = g[grp].toDense()
            var norm = 0.0
            for i in 0..<ref.p[grp.rawValue].count {
                let orig = ref.p[grp.rawValue][i]
                ref.p[grp.rawValue][i] = orig + eps
                let lp = L()
                ref.p[grp.rawValue][i] = orig - eps
                let lm = L()
                ref.p[grp.rawValue][i] = orig
                let numeric = (lp - lm) / (2 * eps)
                norm += numeric * numeric
                XCTAssertLessThan(abs(Double(dense[i]) - numeric), 2e-4 + 2e-3 * abs(numeric),
                                  "\(head) \(grp.name)[\(i)]: analytic \(dense[i]) vs numeric \(numeric)", file: file, line: line)
            }
            if grp == .repeatGateWeights && head.gate == .constant {
                XCTAssertEqual(norm, 0, "a constant gate does not use W_g", file: file, line: line)
                XCTAssertTrue(dense.allSatisfy { $0 == 0 }, file: file, line: line)
            } else if grp == .repeatGateWeights || grp == .repeatGateBias {
                XCTAssertGreaterThan(norm, 1e-6, "\(grp.name) gets a gradient", file: file, line: line)
            }
        }
    }

    func testPolicyTermThroughTheGate() { check(.repeatAware(), entropy: false, others: false) }
    func testPolicyWithEntropy() { check(.repeatAware(), entropy: true, others: false, seed: 3) }
    /// Value, PRN logit and imagined-branch terms use base logits; together with policy terms.
    func testAllLossesTogether() { check(.repeatAware(), entropy: true, others: true, seed: 5) }
    func testConstantGate() { check(.repeatAware(gate: .constant), entropy: false, others: true) }
    func testFeatureMask() { check(.repeatAware(features: [false, true, true, false]), entropy: false, others: true, seed: 2) }

    /// Base-logit terms alone (value, logit, branches): the gate gets no gradient, and the
    /// other groups equal the plain head's on the same base parameters.
    func testBaseLogitTermsIgnoreTheGate() {
        let s = shape(.repeatAware())
        let p = parameters(s, seed: 4)
        var c = makeCase(s, entropy: false, others: true)
        c.losses.policy.removeAll()
        c.losses.policyPrefixOffsets.removeAll(); c.losses.policyPrefixItems.removeAll(); c.losses.policyPrefixFeatures.removeAll()
        var plainP = NetworkParameters(shape: shape(.plain))
        for g in ParameterGroup.plainGroups { plainP.tensors[g.rawValue] = p.tensors[g.rawValue] }
        func run(_ q: NetworkParameters) -> (NetworkGradient, LossBreakdown) {
            let ws = WindowBackprop(shape: q.shape, slots: M, maxSteps: k, maxBranches: 4, maxDepth: 2)
            c.inputs.withUnsafeBufferPointer { i in
                c.resets.withUnsafeBufferPointer { r in
                    c.h0.withUnsafeBufferPointer { h in
                        c.c0.withUnsafeBufferPointer { cc in ws.forward(q, steps: k, inputs: i, resets: r, initialH: h, initialC: cc) }
                    }
                }
            }
            var g = NetworkGradient(shape: q.shape)
            let l = ws.backward(q, losses: c.losses, into: &g)
            return (g, l)
        }
        let (gr, lr) = run(p), (gp, lp) = run(plainP)
        XCTAssertEqual(lr, lp)
        for g in ParameterGroup.plainGroups { XCTAssertEqual(gr[g], gp[g], g.name) }
        XCTAssertEqual(gr[.repeatGateWeights].values, [Float](repeating: 0, count: 12))
        XCTAssertEqual(gr[.repeatGateBias].values, [0, 0, 0, 0])
    }
}
