import XCTest
@testable import IRNAgents

/// Each algorithm's list of loss terms agrees with what `Algorithm` and `AgentConfig` say of
/// it elsewhere (rewards, target network, reconstruction).
final class AlgorithmLossTests: XCTestCase {
    func testTermsAgreeWithTheAlgorithmsProperties() {
        for algo in Algorithm.allCases {
            let config = tinyConfig(algo)
            let terms = algo.lossTerms(config)
            func has<T>(_: T.Type) -> Bool { terms.contains { $0 is T } }
            XCTAssertTrue(terms.first is ImmediateReturns || terms.first is NStepReturns, "\(algo): returns come first")
            XCTAssertEqual(has(NStepReturns.self), algo.usesClickReward, "\(algo)")
            XCTAssertEqual(has(ImaginationReconstruction.self), algo.usesImagination, "\(algo)")
            XCTAssertEqual(has(PreviousItemReconstruction.self), algo.reconstructsPrevious, "\(algo)")
            XCTAssertTrue(has(PolicyGradient.self) && has(ValueRegression.self) && has(EntropyBonus.self), "\(algo): A3C's terms")
            let use = terms.reduce(TargetUse()) { $0.union($1.targetUse) }
            XCTAssertEqual(!use.isEmpty, config.usesTarget, "\(algo): the worker needs a target exactly when the agent keeps one")
            let steps = terms.compactMap { ($0 as? PolicyGradient)?.steps }
            XCTAssertEqual(steps, [algo.usesClickReward ? .every : .purchases], "\(algo)")
        }
    }
}
