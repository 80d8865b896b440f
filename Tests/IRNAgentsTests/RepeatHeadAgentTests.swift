import Foundation
import XCTest
import IRNData
import IRNNumerics
import IRNSupport
@testable import IRNAgents

final class RepeatHeadAgentTests: XCTestCase {
    func repeatConfig(_ algo: Algorithm, head: PolicyHead = .repeatAware()) -> AgentConfig {
        var c = tinyConfig(algo)
        c.head = head
        return c
    }

    /// Training and scoring add the same prefix term: stepping the scorer through the same
    /// windows gives, at every policy term, the same prefix and logits whose log-softmax
    /// reproduces the policy loss the worker differentiated.
    func testTrainingAndScoringAgreeOnThePrefixTerm() throws {
        for head in [PolicyHead.repeatAware(), .repeatAware(features: [false, true, true, true], gate: .constant)] {
            let config = repeatConfig(.a3cF, head: head)  // -F: a policy term at every step
            var theta = config.initialParameters()
            var rng = RandomSource(seed: 21)
            for i in theta.tensors[ParameterGroup.repeatGateWeights.rawValue].indices { theta.tensors[ParameterGroup.repeatGateWeights.rawValue][i] = 2 * rng.nextFloat() - 1 }
            theta.tensors[ParameterGroup.repeatGateBias.rawValue] = [3, 1, 2, 1.5]
            let worker = try GradientWorker(config: config)
            var state = RecurrentState(slots: config.slots, shape: config.shape)
            let M = config.slots, N = config.items
            var logits = [Float](repeating: 0, count: M * N)
            var checked = 0
            for w in firstWindows(config, count: 6) {
                let stats = try worker.computeGradient(w, parameters: theta, target: theta).1
                let l = worker.lastLosses
                var policyLoss = 0.0
                for t in 0..<w.steps {
                    scoreWindowStep(theta, w, step: t, state: &state, logits: &logits)
                    for (r, term) in l.policy.enumerated() where Int(term.index) / M == t {
                        let m = Int(term.index) % M
                        let lo = Int(l.policyPrefixOffsets[r]), hi = Int(l.policyPrefixOffsets[r + 1])
                        let entries = state.prefix!.entries(slot: m)
                        XCTAssertEqual(Array(l.policyPrefixItems[lo..<hi]), entries.map(\.item))
                        for (j, e) in entries.enumerated() {
                            for f in 0..<4 { XCTAssertEqual(l.policyPrefixFeatures[4 * (lo + j) + f], e.phi[f]) }
                        }
                        policyLoss += Double(term.coefficient) * negativeLogSoftmax(logits, slot: m, items: N, action: Int(term.action))
                        checked += 1
                    }
                }
                XCTAssertEqual(stats.policyLoss, policyLoss, accuracy: 1e-4 * max(1, abs(policyLoss)), "\(head)")
            }
            XCTAssertGreaterThan(checked, 20)
        }
    }

    /// Imagination samples from the target's base logits and reconstructs base logits; PRN-P
    /// too: with the same base network, a repeat head (even with a large initial gate) gives
    /// the same imagined items and reconstruction losses as the plain head.
    func testImaginationAndPRNUseBaseLogits() throws {
        for algo in [Algorithm.irnP, .irnF, .prnP] {
            let plain = tinyConfig(algo)
            var rep = repeatConfig(algo)
            rep.repeatGateInit = [4, 2, 1, 0.5]
            let a = try Agent(config: plain), b = try Agent(config: rep)
            var ga = NetworkGradient(shape: plain.shape), gb = NetworkGradient(shape: rep.shape)
            for w in firstWindows(plain, count: 2) {
                let sa = try a.computeGradient(w, into: &ga)
                let sb = try b.computeGradient(w, into: &gb)
                XCTAssertEqual(a.worker.lastLosses.branchItems, b.worker.lastLosses.branchItems, "\(algo)")
                XCTAssertEqual(sa.reconstructionLoss, sb.reconstructionLoss, "\(algo)")
                XCTAssertEqual(sa.valueLoss, sb.valueLoss, "\(algo): V(h) is the same head")
                if sa.policyTerms > 0 { XCTAssertNotEqual(sa.policyLoss, sb.policyLoss, "\(algo): the policy sees the prefix") }
            }
        }
    }

    /// The constant-gate ablation never moves W_g; the state gate learns W_g and b_g.
    func testGateModesTrainTheirParameters() throws {
        for gate in PolicyHead.Gate.allCases {
            var config = repeatConfig(.a3cP, head: .repeatAware(gate: gate))
            config.adam.learningRate = 1e-2
            let agent = try Agent(config: config)
            for w in firstWindows(config, count: 8) { try agent.iterate(w) }
            let wg = agent.parameters[.repeatGateWeights], bg = agent.parameters[.repeatGateBias]
            XCTAssertTrue(bg.contains { $0 != 0 }, "\(gate): b_g learns")
            XCTAssertEqual(wg.contains { $0 != 0 }, gate == .state, "\(gate): W_g")
        }
    }

    /// Sessions of 3-6 random clicks among 40 items, ending with the purchase of one of the
    /// clicked items (which one at random): only the session's own items predict purchases.
    func repeatShop(sessions: Int, seed: UInt64) -> [[Int32]] {
        var rng = RandomSource(seed: seed)
        return (0..<sessions).map { _ in
            var clicks = (0..<(3 + rng.nextInt(below: 4))).map { _ in Int32(rng.nextInt(below: 40)) }
            clicks.append(clicks[rng.nextInt(below: clicks.count)])
            return clicks
        }
    }

    /// Session-parallel windows (each slot takes the next session when its own ends, with a
    /// reset); the last event of every session is a purchase.
    func windows(_ sessions: [[Int32]], _ c: AgentConfig) -> [RolloutWindow] {
        let M = c.slots, k = c.window
        var next = 0, slotSession = [Int](repeating: -1, count: M), pos = [Int](repeating: 0, count: M)
        var out: [RolloutWindow] = []
        while true {
            var w = RolloutWindow(steps: k, slots: M, lookahead: c.nStep)
            var any = false
            for t in 0..<k {
                for m in 0..<M {
                    if slotSession[m] < 0 || pos[m] + 1 >= sessions[slotSession[m]].count {
                        guard next < sessions.count else { slotSession[m] = -1; continue }
                        slotSession[m] = next; pos[m] = 0; next += 1
                        w.resets[t * M + m] = true
                    }
                    let s = sessions[slotSession[m]], i = t * M + m
                    w.inputs[i] = s[pos[m]]
                    w.targets[i] = s[pos[m] + 1]
                    w.targetIsPurchase[i] = pos[m] + 2 == s.count
                    w.rewards[i] = c.reward(isPurchase: w.targetIsPurchase[i])
                    w.active[i] = true
                    pos[m] += 1
                    any = true
                }
            }
            if !any { return out }
            out.append(w)
        }
    }

    /// Where only the session's own items predict purchases, the repeat head learns them
    /// (purchase NLL on new sessions, scored one session at a time as the evaluator does,
    /// far below the plain head's), and its gate favours session items.
    func testRepeatHeadLearnsRepeatedPurchases() throws {
        func purchaseNLL(_ head: PolicyHead) throws -> (Double, NetworkParameters) {
            var config = AgentConfig(algorithm: .a3cP, items: 40)
            config.hidden = 8; config.slots = 8; config.window = 3; config.seed = 3
            config.adam.learningRate = 1e-2
            config.head = head
            let agent = try Agent(config: config)
            let train = windows(repeatShop(sessions: 80, seed: 1), config)
            for _ in 0..<15 {
                agent.resetState()
                for w in train { try agent.iterate(w) }
            }
            let p = agent.parameters
            var nll = 0.0
            for s in repeatShop(sessions: 40, seed: 2) {
                var state = RecurrentState(slots: 1, shape: config.shape)
                var z = [Float](repeating: 0, count: config.items)
                for e in 0..<(s.count - 1) {
                    [s[e]].withUnsafeBufferPointer { i in
                        z.withUnsafeMutableBufferPointer { p.scoreStep(inputs: i, resets: nil, state: &state, logits: $0) }
                    }
                }
                let zmax = z.max()!
                nll += Double(zmax) + log(z.reduce(0.0) { $0 + exp(Double($1 - zmax)) }) - Double(z[Int(s.last!)])
            }
            return (nll / 40, p)
        }
        let (np, _) = try purchaseNLL(.plain)
        let (nr, theta) = try purchaseNLL(.repeatAware())
        XCTAssertLessThan(nr, np - 1, "mean purchase NLL: repeat head \(nr), plain \(np)")
        XCTAssertGreaterThan(theta[.repeatGateBias][PrefixFeature.session.rawValue], 0)
    }

    func testSameSeedSameParametersAndResetEmptiesPrefixes() throws {
        let config = repeatConfig(.irnP)
        let windows = firstWindows(config, count: 5)
        func run() throws -> Agent {
            let agent = try Agent(config: config)
            for w in windows { try agent.iterate(w) }
            return agent
        }
        let a = try run(), b = try run()
        XCTAssertEqual(a.parameters, b.parameters)
        XCTAssertEqual(a.parameters.tensors.count, 9)
        XCTAssertTrue((0..<config.slots).contains { a.worker.prefix!.count(slot: $0) > 0 })
        a.resetState()
        XCTAssertTrue((0..<config.slots).allSatisfy { a.worker.prefix!.count(slot: $0) == 0 })
        XCTAssertNil(try GradientWorker(config: tinyConfig(.irnP)).prefix, "no tracker for the plain head")
    }

    func testConfigValidationNamesTheFlag() {
        var c = repeatConfig(.a3cP)
        c.repeatGateInit = [1, 2, 3]
        XCTAssertThrowsError(try c.validate()) { XCTAssertTrue("\($0)".contains("--repeat-gate-init"), "\($0)") }
        c.repeatGateInit = [1, 2, 3, .nan]
        XCTAssertThrowsError(try c.validate())
        c = repeatConfig(.a3cP, head: .repeatAware(features: [false, false, false, false]))
        XCTAssertThrowsError(try c.validate()) { XCTAssertTrue("\($0)".contains("--repeat-features"), "\($0)") }
        var p = tinyConfig(.a3cP)
        p.repeatGateInit = [4, 2, 1, 0.5]
        XCTAssertThrowsError(try p.validate()) { XCTAssertTrue("\($0)".contains("--head repeat"), "\($0)") }
        // The head is part of the config a model is written with.
        var r = repeatConfig(.irnP)
        r.repeatGateInit = [4, 2, 1, 0.5]
        let decoded = try? JSONDecoder().decode(AgentConfig.self, from: JSONEncoder().encode(r))
        XCTAssertEqual(decoded, r)
        XCTAssertEqual(decoded?.shape.head, .repeatAware())
    }
}
