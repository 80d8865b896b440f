import IRNNumerics

/// The five agents of the paper's Table 1 (docs/algorithm.md#loss-combination).
public enum Algorithm: String, CaseIterable, Sendable, Codable {
    case a3cF = "a3c-f", a3cP = "a3c-p", irnF = "irn-f", irnP = "irn-p", prnP = "prn-p"

    /// -F: clicks rewarded, n-step returns bootstrapped from the target network, policy term
    /// at every step. -P: purchase reward only, immediate return, policy term at purchases.
    public var usesClickReward: Bool { self == .a3cF || self == .irnF }
    /// IRN: imagined trajectories from the target network, reconstructed by the online one.
    public var usesImagination: Bool { self == .irnF || self == .irnP }
    /// PRN-P: reconstruction of the real previous item.
    public var reconstructsPrevious: Bool { self == .prnP }
}

/// `--critic-steps`: where the value head is trained.
public enum CriticSteps: String, CaseIterable, Sendable, Codable { case all, purchase }
/// `--baseline`: A = G - V(s) (value) or A = G (none).
public enum Baseline: String, CaseIterable, Sendable, Codable { case value, none }
/// `--loss-reduction`: each term averaged over its own terms (mean) or summed (sum).
public enum LossReduction: String, CaseIterable, Sendable, Codable { case mean, sum }
/// `--policy-mean-over`: under mean reduction, what the policy term is averaged over: its own
/// rows (terms, the design's reading) or the window's active steps (steps;
/// docs/algorithm.md#loss-combination).
public enum PolicyMean: String, CaseIterable, Sendable, Codable { case terms, steps }
/// `--click-scope`: what the supervised next-click term trains: the whole network (all) or
/// only the repeat heads' gates (gates; the base logits and the LSTM stay the policy's).
public enum ClickScope: String, CaseIterable, Sendable, Codable { case all, gates }
/// `--target-unit`: what `--target-every` counts.
public enum TargetUnit: String, CaseIterable, Sendable, Codable { case steps, updates }

/// Every constant of the agents' training iteration, with the paper's defaults (docs/algorithm.md).
public struct AgentConfig: Sendable, Codable, Equatable {
    public var algorithm: Algorithm
    /// Number of items N.
    public var items: Int
    /// LSTM units H (`--hidden`).
    public var hidden: Int = 256
    /// Session-parallel slots M (`--batch`).
    public var slots: Int = 128
    /// Environment steps k per rollout window (`--window`).
    public var window: Int = 3
    /// Steps of the -F returns (`--n-step`).
    public var nStep: Int = 3
    public var gamma: Float = 0.99
    /// Reward of a purchase event (`--purchase-reward`).
    public var purchaseReward: Float = 5
    /// Reward of a click event (`--click-reward`); nil: 1 for -F, 0 for -P.
    public var clickRewardOverride: Float? = nil
    public var criticSteps: CriticSteps = .all
    public var baseline: Baseline = .value
    /// Lower bound on the advantage (`--advantage-floor`); nil (default): the paper's reading.
    /// Off-policy on logged sessions, a negative A pushes the logged item down without bound;
    /// a floor of 0 keeps only "better than expected" logged actions (beyond the paper).
    public var advantageFloor: Float? = nil
    /// Weight of the value term in L (`--value-weight`); nil (default): 1, the paper's reading.
    public var valueWeight: Float? = nil
    /// Entropy bonus weight beta (`--entropy`).
    public var entropy: Float = 0
    public var lossReduction: LossReduction = .mean
    /// What the policy term is averaged over under mean reduction (`--policy-mean-over`); nil:
    /// its own rows, the design's reading. `steps`: the window's active steps, so the policy's
    /// weight in a window is proportional to its purchase steps (-P) and a sparse reward
    /// (`--reward-density`) does not magnify each kept purchase (beyond the design;
    /// docs/algorithm.md#loss-combination).
    public var policyMean: PolicyMean? = nil
    /// w in L = L_policy + L_value + w L_IRN (`--irn-weight`; also PRN-P's weight).
    public var irnWeight: Float = 0.1
    /// Weight lambda of the supervised next-click term (`--click-weight`, beyond the paper;
    /// nil: none): lambda * -log pi(a_t|s_t) at every step whose logged next event is a click,
    /// through the full head. The -P rewards never ask for clicks, so without it the
    /// repeat-next head's candidate gate learns from purchase steps only (docs/results/next).
    public var clickWeight: Float? = nil
    /// What the click term trains (`--click-scope`); nil: all.
    public var clickScope: ClickScope? = nil
    /// Decay of an exponential moving average of the weights (`--average-weights`, beyond the
    /// paper; nil: none). Validation, saved models and serving use the average; training
    /// (gradients, the target network) uses the live weights. Taken with
    /// `ModelState.averageDecay`'s warm-up, so early averages do not remember the
    /// initialisation.
    public var weightAverage: Float? = nil
    public var forgetBias: Float = 1
    public var targetEvery: Int = 500
    public var targetUnit: TargetUnit = .steps
    /// Trajectories per state (`--breadth`) and items per trajectory (`--depth`).
    public var breadth: Int = 2
    public var depth: Int = 2
    public var adam: AdamConfig = AdamConfig()
    public var seed: UInt64 = 1
    /// Policy head (`--head`, `--repeat-features`, `--repeat-gate`): the paper's plain head,
    /// or the repeat-aware head (docs/algorithm.md#repeat-head). Recorded with a model: scoring needs the same head.
    public var head: PolicyHead = .plain
    /// Initial b_g of the repeat head's gate (`--repeat-gate-init`), one value per prefix feature.
    public var repeatGateInit: [Float] = [0, 0, 0, 0]

    public init(algorithm: Algorithm, items: Int) {
        self.algorithm = algorithm
        self.items = items
    }

    public var shape: NetworkShape { NetworkShape(items: items, hidden: hidden, head: head) }

    /// Seed of the reward-density draws. Every feeder of this agent (single process, every
    /// actor) takes it from here, so all of them keep and drop the same purchases.
    public var rewardSeed: UInt64 { seed ^ 0xD3_5171 }

    /// The initial parameters: Glorot with the seed, forget bias, and for the repeat head
    /// W_g = 0, b_g = `repeatGateInit`.
    public func initialParameters() -> NetworkParameters {
        NetworkParameters(shape: shape, seed: seed, forgetBias: forgetBias, repeatGateBias: head.isRepeat ? repeatGateInit : nil)
    }
    public var clickReward: Float { clickRewardOverride ?? (algorithm.usesClickReward ? 1 : 0) }
    /// r for the logged event: purchase or click (after reward density).
    public func reward(isPurchase: Bool) -> Float { isPurchase ? purchaseReward : clickReward }

    /// Whether a target (frozen) network is needed: for imagination and for -F bootstraps.
    public var usesTarget: Bool { algorithm.usesImagination || algorithm.usesClickReward }

    /// Checks ranges; the message names the flag.
    public func validate() throws {
        func need(_ ok: Bool, _ msg: String) throws { if !ok { throw AgentConfigError(message: msg) } }
        try need(items > 0, "--items must be positive")
        try need(hidden > 0, "--hidden must be positive")
        try need(slots > 0, "--batch must be positive")
        try need(window > 0, "--window must be positive")
        try need(nStep > 0, "--n-step must be positive")
        try need(advantageFloor.map { $0.isFinite } ?? true, "--advantage-floor must be a finite number")
        try need(valueWeight.map { $0.isFinite && $0 >= 0 } ?? true, "--value-weight must be a finite number >= 0")
        try need(gamma >= 0 && gamma <= 1, "--gamma must be in [0, 1]")
        try need(targetEvery > 0, "--target-every must be positive")
        try need(breadth >= 1, "--breadth must be at least 1")
        try need(depth >= 1, "--depth must be at least 1")
        try need(irnWeight >= 0, "--irn-weight must be non-negative")
        try need(clickWeight.map { $0.isFinite && $0 >= 0 } ?? true, "--click-weight must be a finite number >= 0")
        try need(weightAverage.map { $0 > 0 && $0 < 1 } ?? true, "--average-weights must be in (0, 1)")
        try need(clickScope != .gates || head.isRepeat, "--click-scope gates needs a gated head (--head repeat or repeat-next)")
        try need(adam.learningRate > 0, "--lr must be positive")
        try need(repeatGateInit.count == 4 && repeatGateInit.allSatisfy(\.isFinite), "--repeat-gate-init needs 4 finite numbers, one per prefix feature")
        if head.hasNext {
            try need(head.nextFeatures.contains(true), "--next-features must keep at least one feature")
            try need(head.followersPerItem >= 1, "--next-followers must be >= 1")
        }
        if head.isRepeat {
            try need(head.features.contains(true), "--repeat-features must keep at least one feature")
        } else {
            try need(repeatGateInit == [0, 0, 0, 0], "--repeat-gate-init is for --head repeat")
        }
    }
}

public struct AgentConfigError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
}
