import XCTest
import IRNData
import IRNNumerics
@testable import IRNAgents

final class AgentIterationTests: XCTestCase {
    /// One Adam step on the gradient lowers the same window's loss (same states, same
    /// imagined items: a second worker with the same seed re-evaluates at the new parameters).
    func testOneIterationLowersTheLossForEveryAlgorithm() throws {
        for algo in Algorithm.allCases {
            var config = tinyConfig(algo)
            config.adam.learningRate = 3e-3
            config.irnWeight = algo == .prnP ? 1 : 0.5
            let windows = firstWindows(config, count: 2)
            // Warm the recurrent state with the first window so the second starts mid-session.
            let a = try GradientWorker(config: config), b = try GradientWorker(config: config)
            let theta0 = NetworkParameters(shape: config.shape, seed: config.seed, forgetBias: 1)
            _ = try a.computeGradient(windows[0], parameters: theta0, target: theta0)
            _ = try b.computeGradient(windows[0], parameters: theta0, target: theta0)
            let (g, s0) = try a.computeGradient(windows[1], parameters: theta0, target: theta0)
            var theta1 = theta0
            var adam = Adam(shape: config.shape, config: config.adam)
            adam.apply(g, to: &theta1)
            let (_, s1) = try b.computeGradient(windows[1], parameters: theta1, target: theta0)
            XCTAssertEqual(a.lastLosses.branchItems, b.lastLosses.branchItems, "\(algo): same imagined items")
            XCTAssertLessThan(s1.totalLoss, s0.totalLoss, "\(algo): loss \(s0.totalLoss) -> \(s1.totalLoss)")
            XCTAssertGreaterThan(s0.totalLoss, 0)

            // The parts present are the algorithm's.
            XCTAssertEqual(s0.activeSteps, windows[1].activeCount)
            XCTAssertEqual(s0.valueTerms, s0.activeSteps, "\(algo): critic at every step by default")
            if algo.usesClickReward {
                XCTAssertEqual(s0.policyTerms, s0.activeSteps, "\(algo): policy term at every step")
            } else {
                XCTAssertEqual(s0.policyTerms, s0.purchaseSteps, "\(algo): policy term at purchases")
            }
            switch algo {
            case .irnF, .irnP: XCTAssertEqual(s0.reconstructionTerms, s0.activeSteps * config.breadth * config.depth)
            case .prnP: XCTAssertEqual(s0.reconstructionTerms, s0.activeSteps)
            default: XCTAssertEqual(s0.reconstructionTerms, 0); XCTAssertEqual(s0.reconstructionLoss, 0)
            }
        }
    }

    /// Repeated iterations on the tiny shop lower the policy loss of -P agents' purchases
    /// (learning, not just one step).
    func testTrainingLearnsPurchases() throws {
        var config = tinyConfig(.irnP)
        config.adam.learningRate = 1e-2
        config.targetEvery = 6
        let agent = try Agent(config: config)
        let windows = firstWindows(config, count: 12)
        var first = 0.0, last = 0.0
        for epoch in 0..<30 {
            agent.resetState()
            var sum = 0.0
            for w in windows { sum += try agent.iterate(w).totalLoss }
            if epoch == 0 { first = sum }
            last = sum
        }
        XCTAssertLessThan(last, 0.5 * first, "loss \(first) -> \(last)")
    }

    func testSameSeedGivesBitIdenticalParameters() throws {
        for algo in [Algorithm.irnP, .irnF, .a3cF] {
            let config = tinyConfig(algo)
            let windows = firstWindows(config, count: 5)
            func run(_ c: AgentConfig) throws -> NetworkParameters {
                let agent = try Agent(config: c)
                for w in windows { try agent.iterate(w) }
                return agent.parameters
            }
            let p1 = try run(config), p2 = try run(config)
            XCTAssertEqual(p1, p2, "\(algo)")
            var other = config
            other.seed = 43
            XCTAssertNotEqual(p1, try run(other))
        }
    }

    /// The n-step returns of -F, by hand: gamma 0.5, a constant target value c = 2.
    func testNStepReturnsBootstrapFromTheTarget() throws {
        var config = tinyConfig(.a3cF)
        config.gamma = 0.5
        config.slots = 2
        let worker = try GradientWorker(config: config)
        let online = NetworkParameters(shape: config.shape, seed: 1, forgetBias: 1)
        var target = online
        target.tensors[ParameterGroup.valueWeights.rawValue] = [Float](repeating: 0, count: config.hidden)
        target.tensors[ParameterGroup.valueBias.rawValue] = [2]
        var w = RolloutWindow(steps: 3, slots: 2, lookahead: 3)
        // Slot 0: one long session; rewards 1, 1, 5 in the window, lookahead (1, 5, 1).
        // Slot 1: a session ending after step 0 (reward 5), a new one from step 1 (rewards 1, 1),
        // lookahead: one more event (reward 5), then the end.
        let r: [[Float]] = [[1, 5], [1, 1], [5, 1]]
        for t in 0..<3 {
            for m in 0..<2 {
                let i = t * 2 + m
                w.active[i] = true
                w.inputs[i] = Int32((t + m) % 6)
                w.targets[i] = Int32((t + m + 1) % 6)
                w.rewards[i] = r[t][m]
                w.targetIsPurchase[i] = r[t][m] == 5
            }
        }
        w.resets[1 * 2 + 1] = true
        w.lookaheadItems = [1, 2, 3, 4, -1, -1]
        w.lookaheadRewards = [1, 5, 1, 5, 0, 0]
        _ = try worker.computeGradient(w, parameters: online, target: target)
        let G = Dictionary(uniqueKeysWithValues: worker.lastLosses.value.map { ($0.index, $0.target) })
        let g = Float(0.5)
        // Slot 0: G_0 = 1 + .5*1 + .25*5 + .125*2; G_1 = 1 + .5*5 + .25*1 + .125*2; G_2 = 5 + .5*1 + .25*5 + .125*2.
        XCTAssertEqual(G[0]!, 1 + g * 1 + g * g * 5 + g * g * g * 2, accuracy: 1e-6)
        XCTAssertEqual(G[2]!, 1 + g * 5 + g * g * 1 + g * g * g * 2, accuracy: 1e-6)
        XCTAssertEqual(G[4]!, 5 + g * 1 + g * g * 5 + g * g * g * 2, accuracy: 1e-6)
        // Slot 1: G_0 = 5 (session ends); G_1 = 1 + .5*1 + .25*5 (then the end: no bootstrap);
        // G_2 = 1 + .5*5 (end).
        XCTAssertEqual(G[1]!, 5, accuracy: 1e-6)
        XCTAssertEqual(G[3]!, 1 + g * 1 + g * g * 5, accuracy: 1e-6)
        XCTAssertEqual(G[5]!, 1 + g * 5, accuracy: 1e-6)
        // Advantages use the online V: A = G - V(s_t).
        for p in worker.lastLosses.policy {
            let v = worker.backprop.value(at: Int(p.index))
            XCTAssertEqual(p.coefficient, (G[p.index]! - v) / 6, accuracy: 1e-6)
        }
    }

    /// -P: immediate reward as the critic target, policy only at purchases with A = 5 - V;
    /// `--critic-steps purchase`, `--baseline none` and `--loss-reduction sum` switch the terms.
    func testPurchaseVariantTermsAndLiteralFlags() throws {
        var config = tinyConfig(.a3cP)
        let windows = firstWindows(config, count: 3)
        let w = windows[2]
        let theta = NetworkParameters(shape: config.shape, seed: 3, forgetBias: 1)
        let worker = try GradientWorker(config: config)
        let s = try worker.computeGradient(w, parameters: theta, target: theta).1
        XCTAssertGreaterThan(s.purchaseSteps, 0)
        for v in worker.lastLosses.value {
            XCTAssertEqual(v.target, w.targetIsPurchase[Int(v.index)] ? 5 : 0)
            XCTAssertEqual(v.weight, 1 / Float(s.activeSteps), accuracy: 1e-7)
        }
        for p in worker.lastLosses.policy {
            XCTAssertTrue(w.targetIsPurchase[Int(p.index)])
            XCTAssertEqual(p.action, w.targets[Int(p.index)])
            XCTAssertEqual(p.coefficient, (5 - worker.backprop.value(at: Int(p.index))) / Float(s.purchaseSteps), accuracy: 1e-6)
        }
        config.criticSteps = .purchase
        config.baseline = .none
        config.lossReduction = .sum
        let literal = try GradientWorker(config: config)
        let s2 = try literal.computeGradient(w, parameters: theta, target: theta).1
        XCTAssertEqual(s2.valueTerms, s.purchaseSteps)
        for p in literal.lastLosses.policy { XCTAssertEqual(p.coefficient, 5) }
        for v in literal.lastLosses.value { XCTAssertEqual(v.weight, 1) }
    }

    /// `--advantage-floor 0`: every -F policy coefficient is max(G - V, 0) (reduced by the
    /// mean), so no logged item is pushed down; without it some coefficients are negative.
    func testAdvantageFloorClipsNegativeAdvantages() throws {
        var config = tinyConfig(.a3cF)
        let w = firstWindows(config, count: 3)[2]
        // A value head biased high makes G - V negative at most steps.
        var theta = NetworkParameters(shape: config.shape, seed: 3, forgetBias: 1)
        theta[.valueBias][0] = 20
        let plain = try GradientWorker(config: config)
        _ = try plain.computeGradient(w, parameters: theta, target: theta)
        XCTAssertTrue(plain.lastLosses.policy.contains { $0.coefficient < 0 }, "the test needs negative advantages")
        config.advantageFloor = 0
        let floored = try GradientWorker(config: config)
        let s = try floored.computeGradient(w, parameters: theta, target: theta).1
        XCTAssertEqual(floored.lastLosses.policy.count, plain.lastLosses.policy.count)
        for (a, b) in zip(floored.lastLosses.policy, plain.lastLosses.policy) {
            XCTAssertEqual(a.coefficient, max(b.coefficient, 0), accuracy: 1e-7)
        }
        XCTAssertEqual(s.meanAdvantage, s.meanAbsAdvantage, accuracy: 1e-9)
        config.advantageFloor = .infinity
        XCTAssertThrowsError(try config.validate())
    }

    /// `--value-weight`: scales every value term (after the mean reduction), nothing else.
    func testValueWeightScalesOnlyTheValueTerms() throws {
        var config = tinyConfig(.a3cF)
        let w = firstWindows(config, count: 3)[2]
        let theta = NetworkParameters(shape: config.shape, seed: 3, forgetBias: 1)
        let plain = try GradientWorker(config: config)
        _ = try plain.computeGradient(w, parameters: theta, target: theta)
        config.valueWeight = 0.25
        let weighted = try GradientWorker(config: config)
        _ = try weighted.computeGradient(w, parameters: theta, target: theta)
        XCTAssertFalse(plain.lastLosses.value.isEmpty)
        for (a, b) in zip(weighted.lastLosses.value, plain.lastLosses.value) {
            XCTAssertEqual(a.weight, 0.25 * b.weight, accuracy: 1e-9)
            XCTAssertEqual(a.target, b.target)
        }
        for (a, b) in zip(weighted.lastLosses.policy, plain.lastLosses.policy) { XCTAssertEqual(a.coefficient, b.coefficient) }
        config.valueWeight = -1
        XCTAssertThrowsError(try config.validate())
    }

    /// With d = 0 an IRN-P run has no A3C policy term at all and still trains on imagination.
    func testDensityZeroTrainsOnImaginationAlone() throws {
        let config = tinyConfig(.irnP)
        let windows = firstWindows(config, count: 4, density: 0)
        let agent = try Agent(config: config)
        let before = agent.parameters
        for w in windows {
            let s = try agent.iterate(w)
            XCTAssertEqual(s.purchaseSteps, 0)
            XCTAssertEqual(s.policyTerms, 0)
            XCTAssertGreaterThan(s.reconstructionTerms, 0)
            XCTAssertGreaterThan(s.reconstructionLoss, 0)
        }
        XCTAssertNotEqual(agent.parameters[.policyWeights], before[.policyWeights])
    }

    /// The worker carries each slot's online state across windows and zeroes it at resets:
    /// after two windows it equals feeding the same items one step at a time to the scorer.
    func testRecurrentStateIsCarriedAcrossWindows() throws {
        let config = tinyConfig(.a3cP)
        let windows = firstWindows(config, count: 3)
        let theta = NetworkParameters(shape: config.shape, seed: 5, forgetBias: 1)
        let worker = try GradientWorker(config: config)
        var state = RecurrentState(slots: config.slots, hidden: config.hidden)
        var logits = [Float](repeating: 0, count: config.slots * config.items)
        var checked = 0
        for w in windows {
            _ = try worker.computeGradient(w, parameters: theta, target: theta)
            for t in 0..<w.steps {
                let inp = Array(w.inputs[(t * w.slots)..<((t + 1) * w.slots)])
                let rst = Array(w.resets[(t * w.slots)..<((t + 1) * w.slots)])
                inp.withUnsafeBufferPointer { i in
                    rst.withUnsafeBufferPointer { r in
                        logits.withUnsafeMutableBufferPointer { l in theta.scoreStep(inputs: i, resets: r, state: &state, logits: l) }
                    }
                }
            }
            // (Slots that ran out of sessions have no defined state until their next reset.)
            for m in 0..<w.slots where w.active[(w.steps - 1) * w.slots + m] {
                for j in (m * config.hidden)..<((m + 1) * config.hidden) {
                    XCTAssertEqual(worker.onlineH[j], state.h[j], accuracy: 1e-5)
                    XCTAssertEqual(worker.onlineC[j], state.c[j], accuracy: 1e-5)
                }
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 5)
    }

    /// A shorter last window (k < --window) and a malformed one: the first trains, the second
    /// is rejected with a message.
    func testShortWindowsWorkAndBadWindowsAreRejected() throws {
        for algo in Algorithm.allCases {
            let config = tinyConfig(algo)
            let worker = try GradientWorker(config: config)
            var w = RolloutWindow(steps: 2, slots: config.slots, lookahead: config.nStep)
            w.inputs = [0, 1, 2, 3, 4, 5]
            w.targets = [3, 4, 5, 1, 2, 2]
            w.active = [true, true, true, true, true, true]
            w.resets = [true, true, true, false, false, false]
            w.targetIsPurchase = [false, true, false, false, false, true]
            w.rewards = w.targetIsPurchase.map { config.reward(isPurchase: $0) }
            w.lookaheadItems = [1, -1, -1, 2, 3, -1, -1, -1, -1]
            let theta = NetworkParameters(shape: config.shape, seed: 1, forgetBias: 1)
            let (g, s) = try worker.computeGradient(w, parameters: theta, target: theta)
            XCTAssertEqual(s.activeSteps, 6)
            XCTAssertTrue(g.parts.contains { $0.values.contains { $0 != 0 } }, "\(algo)")
            XCTAssertTrue(g.parts.allSatisfy { $0.values.allSatisfy(\.isFinite) })
            var bad = w
            bad.targets[2] = 6
            XCTAssertThrowsError(try worker.computeGradient(bad, parameters: theta, target: theta)) { e in
                XCTAssertTrue("\(e)".contains("out of range"), "\(e)")
            }
            var noReset = w
            noReset.active[0] = false
            XCTAssertThrowsError(try worker.computeGradient(noReset, parameters: theta, target: theta))
        }
    }
}
