/// The five agents (the paper's Table 1; docs/algorithm.md#loss-combination) as lists of loss terms.
extension Algorithm {
    /// The terms of this algorithm's loss, in the order they are built (returns first: the
    /// policy and value terms read them; the entropy bonus after the policy terms).
    /// `--click-weight` adds the supervised next-click term last (after the entropy bonus,
    /// which therefore leaves its rows alone).
    func lossTerms(_ config: AgentConfig) -> [any LossTerm] {
        let base = baseTerms(config)
        guard let lambda = config.clickWeight, lambda > 0 else { return base }
        return base + [NextClickSupervision(weight: lambda, gatesOnly: config.clickScope == .gates)]
    }

    private func baseTerms(_ config: AgentConfig) -> [any LossTerm] {
        switch self {
        case .a3cF: return A3CLoss.clickRewarded
        case .a3cP: return A3CLoss.purchaseOnly
        case .irnF: return A3CLoss.clickRewarded + [ImaginationReconstruction(weight: config.irnWeight)]
        case .irnP: return A3CLoss.purchaseOnly + [ImaginationReconstruction(weight: config.irnWeight)]
        case .prnP: return A3CLoss.purchaseOnly + [PreviousItemReconstruction()]
        }
    }
}

/// A3C's loss: returns, the policy term with its advantage, the critic, the entropy bonus.
enum A3CLoss {
    /// -F: clicks rewarded, n-step returns bootstrapped from the target network, a policy
    /// term at every step.
    static let clickRewarded: [any LossTerm] = [NStepReturns(), PolicyGradient(steps: .every), ValueRegression(), EntropyBonus()]
    /// -P: purchases rewarded only, the immediate reward as the return, policy terms at purchases.
    static let purchaseOnly: [any LossTerm] = [ImmediateReturns(), PolicyGradient(steps: .purchases), ValueRegression(), EntropyBonus()]
}
