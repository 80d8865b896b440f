import XCTest
import IRNSupport
@testable import IRNNumerics

/// The repeat-next head's gradients (W_n, b_n through h and the softmax, with the repeat
/// head's W_g, b_g and every other group) against central finite differences of the Double
/// reference, on a window whose candidates come from a real tracker and table.
final class RepeatNextHeadGradientTests: XCTestCase {
    let k = 3, M = 3

    func head(gate: PolicyHead.Gate = .state, next: [Bool] = [true, true, true, true],
              source: PolicyHead.SessionSource = .transitions) -> PolicyHead {
        let sessions: [[Int32]] = [[0, 1, 2, 3], [0, 1, 6], [3, 5, 0, 2], [4, 1, 2], [6, 5, 4, 3], [2, 1, 0]]
        var offsets = [0], items: [Int32] = []
        for s in sessions { items += s; offsets.append(items.count) }
        var h = PolicyHead.repeatNext(gate: gate, nextFeatures: next, followersPerItem: 3, nextSessionSource: source)
        try! h.attach(TransitionTable(sessionOffsets: offsets, items: items, itemCount: 7, followersPerItem: 3,
                                      cooccurrence: source == .cooccurrence), split: "train_tr")
        return h
    }

    func parameters(_ s: NetworkShape, seed: UInt64) -> NetworkParameters {
        var p = NetworkParameters(shape: s, seed: seed, forgetBias: 1, repeatGateBias: [0.8, -0.6, 1.1, 0.4])
        var rng = RandomSource(seed: seed &+ 99)
        for g in [ParameterGroup.gateBias, .policyBias, .valueBias, .nextGateBias] {
            for i in p.tensors[g.rawValue].indices { p.tensors[g.rawValue][i] += 0.8 * (2 * rng.nextFloat() - 1) }
        }
        for i in p.tensors[ParameterGroup.policyWeights.rawValue].indices { p.tensors[ParameterGroup.policyWeights.rawValue][i] *= 2 }
        for g in [ParameterGroup.repeatGateWeights, .nextGateWeights] {
            for i in p.tensors[g.rawValue].indices { p.tensors[g.rawValue][i] = 1.5 * (2 * rng.nextFloat() - 1) }
        }
        return p
    }

    func check(_ head: PolicyHead, entropy: Bool, others: Bool, seed: UInt64 = 1, file: StaticString = #filePath, line: UInt = #line) {
        let s = NetworkShape(items: 7, hidden: 3, head: head)
        let p = parameters(s, seed: seed)
        var rng = RandomSource(seed: 7)
        let inputs: [Int32] = [0, 3, 5,
                               2, 6, 1,
                               0, 4, 1]
        var resets = [Bool](repeating: false, count: k * M)
        resets[1 * M + 1] = true
        resets[0 * M + 2] = true
        let H = s.hidden
        let h0 = (0..<(M * H)).map { _ in 0.8 * (2 * rng.nextFloat() - 1) }
        let c0 = (0..<(M * H)).map { _ in 1.5 * (2 * rng.nextFloat() - 1) }
        var l = WindowLosses()
        var tracker = PrefixTracker(slots: M, head: head)
        tracker.feed(slot: 0, item: 4); tracker.feed(slot: 0, item: 0)
        tracker.feed(slot: 1, item: 6)
        // Actions: in the prefix, a candidate (reached), a candidate, and an unreached item.
        let terms: [(Int32, Int32, Float)] = [(0, 1, 0.7), (4, 5, -0.4), (6, 2, 1.3), (8, 6, 0.9)]
        var nextTerm = 0
        for i in 0..<(k * M) {
            let m = i % M
            if resets[i] { tracker.reset(slot: m) }
            tracker.feed(slot: m, item: inputs[i])
            if nextTerm < terms.count && terms[nextTerm].0 == Int32(i) {
                l.policy.append(.init(index: terms[nextTerm].0, action: terms[nextTerm].1, coefficient: terms[nextTerm].2, entropy: entropy ? 0.3 : 0))
                l.appendPolicyPrefix(from: tracker, slot: m)
                l.appendPolicyNext(from: &tracker, slot: m)
                nextTerm += 1
            }
        }
        if others {
            l.value.append(.init(index: 1, target: 5, weight: 0.5))
            l.logit.append(.init(index: 3, item: 2, weight: 1))
            l.branchDepth = 2
            for (b, r) in [Int32(0), 4, 8].enumerated() {
                l.branchRoots.append(r)
                l.branchItems.append(contentsOf: [Int32(b + 1), Int32(6 - b)])
                l.branchWeights.append(contentsOf: [0.99, 0.98])
            }
        }
        XCTAssertGreaterThan(l.policyNextItems.count, 4, "the case has real candidates", file: file, line: line)
        let ws = WindowBackprop(shape: s, slots: M, maxSteps: k, maxBranches: 4, maxDepth: 2)
        inputs.withUnsafeBufferPointer { i in
            resets.withUnsafeBufferPointer { r in
                h0.withUnsafeBufferPointer { h in
                    c0.withUnsafeBufferPointer { cc in ws.forward(p, steps: k, inputs: i, resets: r, initialH: h, initialC: cc) }
                }
            }
        }
        var g = NetworkGradient(shape: s)
        let loss = ws.backward(p, losses: l, into: &g)
        var ref = ReferenceNetwork(p)
        let h0d = h0.map(Double.init), c0d = c0.map(Double.init)
        func L() -> Double { ref.loss(steps: k, slots: M, inputs: inputs, resets: resets, h0: h0d, c0: c0d, losses: l) }
        let L0 = L()
        XCTAssertEqual(loss.total, L0, accuracy: 1e-4 * max(1, abs(L0)), "loss value", file: file, line: line)
        XCTAssertEqual(g.parts.count, 11, file: file, line: line)
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
            if grp == .nextGateWeights && head.gate == .constant {
                XCTAssertEqual(norm, 0, "a constant gate does not use W_n", file: file, line: line)
                XCTAssertTrue(dense.allSatisfy { $0 == 0 }, file: file, line: line)
            } else if grp == .nextGateWeights || grp == .nextGateBias {
                XCTAssertGreaterThan(norm, 1e-6, "\(grp.name) gets a gradient", file: file, line: line)
            }
        }
    }

    func testGateThroughH() { check(head(), entropy: false, others: false) }
    func testWithEntropy() { check(head(), entropy: true, others: false, seed: 3) }
    func testAllLossesTogether() { check(head(), entropy: true, others: true, seed: 5) }
    func testConstantGate() { check(head(gate: .constant), entropy: false, others: true) }
    func testFeatureMask() { check(head(next: [false, true, true, false]), entropy: false, others: true, seed: 2) }
    func testCooccurrenceSource() { check(head(source: .cooccurrence), entropy: true, others: true, seed: 7) }
}
