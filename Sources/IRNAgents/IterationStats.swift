/// What one training iteration saw and optimised: the learning signal made visible.
public struct IterationStats: Sendable, Equatable, Codable {
    /// L_policy (reduced as configured: mean over policy terms, or sum), incl. no entropy.
    public var policyLoss: Double = 0
    /// The entropy part -beta H (0 unless --entropy is set).
    public var entropyLoss: Double = 0
    /// L_value (reduced).
    public var valueLoss: Double = 0
    /// L_IRN / L_PRN before the weight w (reduced).
    public var reconstructionLoss: Double = 0
    /// L = L_policy + entropy + L_value + w L_IRN, the loss differentiated.
    public var totalLoss: Double = 0
    /// Mean and mean absolute advantage over the policy terms.
    public var meanAdvantage: Double = 0
    public var meanAbsAdvantage: Double = 0
    /// Mean online V(s_t) over active steps.
    public var meanValue: Double = 0
    /// Active (step, slot) pairs, of which purchase targets.
    public var activeSteps: Int = 0
    public var purchaseSteps: Int = 0
    public var policyTerms: Int = 0
    public var valueTerms: Int = 0
    public var reconstructionTerms: Int = 0
    /// Of the policy terms, those of the supervised next-click term (`--click-weight`).
    public var clickTerms: Int = 0

    public init() {}

    /// Share of active steps whose target is a purchase.
    public var purchaseShare: Double { activeSteps == 0 ? 0 : Double(purchaseSteps) / Double(activeSteps) }

    /// Running sum for averaging over iterations: loss and advantage figures are weighted
    /// equally per iteration (divide by the count when reporting), counts add up.
    public mutating func accumulate(_ o: IterationStats) {
        policyLoss += o.policyLoss; entropyLoss += o.entropyLoss; valueLoss += o.valueLoss
        reconstructionLoss += o.reconstructionLoss; totalLoss += o.totalLoss
        meanAdvantage += o.meanAdvantage; meanAbsAdvantage += o.meanAbsAdvantage; meanValue += o.meanValue
        activeSteps += o.activeSteps; purchaseSteps += o.purchaseSteps; policyTerms += o.policyTerms
        valueTerms += o.valueTerms; reconstructionTerms += o.reconstructionTerms
        clickTerms += o.clickTerms
    }
}
