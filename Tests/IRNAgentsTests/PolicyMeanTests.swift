import XCTest
import IRNNumerics
@testable import IRNAgents

/// `--policy-mean-over`: what the policy term is averaged over under mean reduction.
final class PolicyMeanTests: XCTestCase {
    /// `steps` keeps the policy rows (which steps, which actions) and divides each advantage by
    /// the window's active steps instead of by the row count: every coefficient, the entropy
    /// weight and the policy loss scale by rows / active steps. -P (rows at purchases only, so
    /// the two differ) and -F (rows at every active step, so they agree).
    func testStepsDividesByTheWindowsActiveSteps() throws {
        for algo in [Algorithm.a3cP, .irnP, .a3cF] {
            var terms = tinyConfig(algo)
            terms.entropy = 0.1
            var steps = terms
            steps.policyMean = .steps
            let theta = terms.initialParameters()
            let a = try GradientWorker(config: terms), b = try GradientWorker(config: steps)
            var compared = 0
            for w in firstWindows(terms, count: 6) {
                let s0 = try a.computeGradient(w, parameters: theta, target: theta).1
                let s1 = try b.computeGradient(w, parameters: theta, target: theta).1
                let l0 = a.lastLosses, l1 = b.lastLosses
                XCTAssertEqual(l1.policy.map(\.index), l0.policy.map(\.index))
                XCTAssertEqual(l1.policy.map(\.action), l0.policy.map(\.action))
                let active = (0..<(w.steps * w.slots)).filter { w.active[$0] }.count
                let rows = l0.policy.count
                guard rows > 0 else { continue }
                if algo == .a3cF { XCTAssertEqual(rows, active, "-F: a row at every active step") }
                let ratio = Float(rows) / Float(active)
                for (r0, r1) in zip(l0.policy, l1.policy) {
                    XCTAssertEqual(r1.coefficient, r0.coefficient * ratio, accuracy: 1e-6 * max(1, abs(r0.coefficient)))
                    XCTAssertEqual(r1.entropy, 0.1 / Float(active), accuracy: 1e-7)
                    XCTAssertEqual(r0.entropy, 0.1 / Float(rows), accuracy: 1e-7)
                }
                XCTAssertEqual(s1.policyLoss, s0.policyLoss * Double(ratio), accuracy: 1e-4 * max(1, abs(s0.policyLoss)))
                XCTAssertEqual(s1.valueLoss, s0.valueLoss, accuracy: 1e-9, "the value term is not a policy term")
                compared += 1
            }
            XCTAssertGreaterThan(compared, 2, "\(algo): too few windows with policy rows")
        }
    }

    /// Under sum reduction the flag changes nothing.
    func testNoEffectUnderSumReduction() throws {
        var sum = tinyConfig(.a3cP)
        sum.lossReduction = .sum
        var steps = sum
        steps.policyMean = .steps
        let theta = sum.initialParameters()
        let a = try GradientWorker(config: sum), b = try GradientWorker(config: steps)
        for w in firstWindows(sum, count: 3) {
            _ = try a.computeGradient(w, parameters: theta, target: theta)
            _ = try b.computeGradient(w, parameters: theta, target: theta)
            XCTAssertEqual(a.lastLosses.policy.map(\.coefficient), b.lastLosses.policy.map(\.coefficient))
        }
    }
}
