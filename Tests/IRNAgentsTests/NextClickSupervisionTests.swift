import Foundation
import XCTest
import IRNData
import IRNNumerics
@testable import IRNAgents

/// `--click-weight`: the supervised next-click term.
final class NextClickSupervisionTests: XCTestCase {
    func testTermIsAddedLastOnlyWithAPositiveWeight() {
        for algo in Algorithm.allCases {
            var config = tinyConfig(algo)
            let plain = algo.lossTerms(config).count
            config.clickWeight = 0
            XCTAssertEqual(algo.lossTerms(config).count, plain, "\(algo): weight 0 adds nothing")
            config.clickWeight = 0.5
            let terms = algo.lossTerms(config)
            XCTAssertEqual(terms.count, plain + 1)
            XCTAssertEqual((terms.last as? NextClickSupervision)?.weight, 0.5, "\(algo): the click term comes last (after the entropy bonus)")
        }
    }

    /// With the repeat head (prefix features on every policy row) and -P (click rows interleave
    /// with purchase rows): one row per active click step with coefficient lambda / count,
    /// rows in window order with their own prefixes, and the policy loss grows by exactly
    /// lambda * the mean of -log pi(clicked item) that the scorer's logits give, while the
    /// purchase rows keep their coefficients.
    func testClickRowsMatchTheScorersLogits() throws {
        let lambda: Float = 0.5
        var base = tinyConfig(.a3cP)
        base.head = .repeatAware()
        var config = base
        config.clickWeight = lambda
        var theta = config.initialParameters()
        theta.tensors[ParameterGroup.repeatGateBias.rawValue] = [2, 1, 0.5, 1]
        let with = try GradientWorker(config: config), without = try GradientWorker(config: base)
        var state = RecurrentState(slots: config.slots, shape: config.shape)
        let M = config.slots, N = config.items
        var logits = [Float](repeating: 0, count: M * N)
        var checkedWindows = 0
        for w in firstWindows(config, count: 6) {
            let s1 = try with.computeGradient(w, parameters: theta, target: theta).1
            let s0 = try without.computeGradient(w, parameters: theta, target: theta).1
            let l = with.lastLosses, l0 = without.lastLosses
            let clicks = (0..<(w.steps * M)).filter { w.active[$0] && !w.targetIsPurchase[$0] }
            XCTAssertEqual(s1.clickTerms, clicks.count)
            XCTAssertEqual(l.policy.count, l0.policy.count + clicks.count)
            XCTAssertEqual(l.policy.map(\.index), l.policy.map(\.index).sorted(), "rows in window order")
            XCTAssertEqual(l.policyPrefixOffsets.count, l.policy.count + 1)
            let purchaseRows = l.policy.filter { w.targetIsPurchase[Int($0.index)] }
            XCTAssertEqual(purchaseRows.map(\.coefficient), l0.policy.map(\.coefficient), "purchase rows unchanged")

            var clickNLL = 0.0
            for t in 0..<w.steps {
                scoreWindowStep(theta, w, step: t, state: &state, logits: &logits)
                for i in clicks where i / M == t {
                    let m = i % M
                    let row = l.policy.first { Int($0.index) == i && !w.targetIsPurchase[i] }!
                    XCTAssertEqual(row.action, w.targets[i])
                    XCTAssertEqual(row.coefficient, lambda / Float(clicks.count), accuracy: 1e-7)
                    XCTAssertEqual(row.entropy, 0)
                    clickNLL += negativeLogSoftmax(logits, slot: m, items: N, action: Int(w.targets[i]))
                }
            }
            guard !clicks.isEmpty else { continue }
            let expected = Double(lambda) * clickNLL / Double(clicks.count)
            XCTAssertEqual(s1.policyLoss - s0.policyLoss, expected, accuracy: 1e-4 * max(1, expected))
            checkedWindows += 1
        }
        XCTAssertGreaterThan(checkedWindows, 3)
    }

    /// The term teaches clicks: on the tiny shop, A3C-P (no click reward) trained with it ends
    /// with a lower click NLL than before and than the same agent trained without it.
    func testClickTermLowersTheClickLoss() throws {
        func trained(_ weight: Float?) throws -> (NetworkParameters, AgentConfig) {
            var config = tinyConfig(.a3cP)
            config.clickWeight = weight
            config.adam.learningRate = 1e-2
            let agent = try Agent(config: config)
            for _ in 0..<20 {
                agent.resetState()
                for w in firstWindows(config, count: 12) { try agent.iterate(w) }
            }
            return (agent.parameters, config)
        }
        let config = tinyConfig(.a3cP), windows = firstWindows(config, count: 12)
        let before = lossOnClicks(config.initialParameters(), config, windows)
        let (withTerm, _) = try trained(1), (withoutTerm, _) = try trained(nil)
        let after = lossOnClicks(withTerm, config, windows), plain = lossOnClicks(withoutTerm, config, windows)
        XCTAssertLessThan(after, 0.7 * before, "click NLL \(before) -> \(after)")
        XCTAssertLessThan(after, plain, "with the term \(after), without \(plain)")
    }

    /// `--click-scope gates`: the click rows change only the gates' gradient (W_p, b_p, the
    /// LSTM and the critic get exactly what they get without the term), and that gradient is
    /// the click loss's: b_g's part against central finite differences.
    func testGatesScopeTrainsOnlyTheGates() throws {
        var base = tinyConfig(.a3cP)
        base.head = .repeatAware()
        var config = base
        config.clickWeight = 0.5
        config.clickScope = .gates
        var theta = config.initialParameters()
        theta.tensors[ParameterGroup.repeatGateBias.rawValue] = [0.5, 0.2, -0.3, 0.4]
        let windows = firstWindows(config, count: 3)
        func gradient(_ c: AgentConfig, _ th: NetworkParameters) throws -> (NetworkGradient, Double) {
            let worker = try GradientWorker(config: c)
            var g = NetworkGradient(shape: c.shape), loss = 0.0
            for w in windows {  // the last window's gradient, from carried states
                loss = try worker.computeGradient(w, parameters: th, target: th, into: &g).policyLoss
            }
            return (g, loss)
        }
        let (g1, _) = try gradient(config, theta), (g0, _) = try gradient(base, theta)
        for group in ParameterGroup.allCases where group.rawValue < g1.parts.count {
            let a = g1.parts[group.rawValue].toDense(), b = g0.parts[group.rawValue].toDense()
            if group == .repeatGateWeights || group == .repeatGateBias {
                XCTAssertNotEqual(a, b, "\(group): the click rows train the gate")
            } else {
                for j in a.indices { XCTAssertEqual(a[j], b[j], accuracy: 1e-6, "\(group)[\(j)]") }
            }
        }
        // d(click part of the loss)/db_g = g1 - g0 on b_g.
        let bias = ParameterGroup.repeatGateBias.rawValue
        let analytic = zip(g1.parts[bias].toDense(), g0.parts[bias].toDense()).map { $0 - $1 }
        let eps: Float = 1e-2
        for f in 0..<4 {
            func clickLoss(_ delta: Float) throws -> Double {
                var th = theta
                th.tensors[bias][f] += delta
                return try gradient(config, th).1 - gradient(base, th).1
            }
            let numeric = (try clickLoss(eps) - clickLoss(-eps)) / Double(2 * eps)
            XCTAssertEqual(Double(analytic[f]), numeric, accuracy: 2e-3 + 2e-2 * abs(numeric), "b_g[\(f)]")
        }
        XCTAssertTrue(analytic.contains { abs($0) > 1e-4 }, "the click rows reach b_g")
    }

    /// Mean -log pi(clicked item) over the windows' click steps, from the scorer.
    private func lossOnClicks(_ theta: NetworkParameters, _ c: AgentConfig, _ windows: [RolloutWindow]) -> Double {
        var state = RecurrentState(slots: c.slots, shape: c.shape)
        let M = c.slots, N = c.items
        var logits = [Float](repeating: 0, count: M * N)
        var sum = 0.0, n = 0
        for w in windows {
            for t in 0..<w.steps {
                scoreWindowStep(theta, w, step: t, state: &state, logits: &logits)
                for m in 0..<M where w.active[t * M + m] && !w.targetIsPurchase[t * M + m] {
                    sum += negativeLogSoftmax(logits, slot: m, items: N, action: Int(w.targets[t * M + m]))
                    n += 1
                }
            }
        }
        return sum / Double(max(n, 1))
    }
}
