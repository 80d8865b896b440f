import IRNNumerics

/// One term of an agent's loss (docs/algorithm.md#loss-combination). Given a window, after the
/// online forward and the target network's pass, it appends its terms to the
/// `WindowLosses` the network differentiates (weighted and reduced as configured), and
/// records what it saw in the iteration's statistics. An algorithm is a list of terms
/// (`Algorithm.lossTerms`), applied in order.
protocol LossTerm: Sendable {
    /// What the term needs the target network to compute for each window.
    var targetUse: TargetUse { get }
    func append(_ w: RolloutWindow, _ ctx: LossContext, to losses: inout WindowLosses, stats: inout IterationStats)
}

/// What loss terms ask of the target network in a window.
struct TargetUse: OptionSet, Sendable {
    let rawValue: Int
    /// Imagined trajectories sampled from the target policy (IRN).
    static let sample = TargetUse(rawValue: 1)
    /// Target values V(s; theta^-) for bootstrapped returns (-F).
    static let bootstrap = TargetUse(rawValue: 2)
}

/// What the loss terms of a window share: the online network's pass over the window, the
/// target network's, and the returns G_t, which the returns term writes and the policy and
/// value terms read. Owned by a `GradientWorker`; its buffers are reused across windows.
final class LossContext {
    let config: AgentConfig
    /// The online network after `forward` over the window: V(s_t) by `value(at:)`.
    let online: WindowBackprop
    /// The target network's samples and values for the window (nil when the agent has none).
    let target: TrajectoryManager?
    /// gamma^j for j = 0...max(n, depth).
    let gammaPowers: [Float]
    /// G_t at each window index `step * slots + slot` (0 where inactive).
    var returns: [Float]

    init(config: AgentConfig, online: WindowBackprop, target: TrajectoryManager?) {
        self.config = config
        self.online = online
        self.target = target
        gammaPowers = (0...max(config.nStep, config.depth)).map { j in
            var g: Float = 1
            for _ in 0..<j { g *= config.gamma }
            return g
        }
        returns = [Float](repeating: 0, count: config.window * config.slots)
    }

    /// Whether each kind of term is averaged over its own terms (else summed).
    var mean: Bool { config.lossReduction == .mean }

    /// Under mean reduction, divides the coefficients of the policy rows a term appended
    /// (from `first` on) by their count (`--policy-mean-over terms`, the design's reading in
    /// docs/algorithm.md#loss-combination), or by the
    /// window's active steps (`steps`: a window's policy weight then grows with its rows, so
    /// a sparse reward does not scale up each of its few rows).
    func reducePolicyRows(_ losses: inout WindowLosses, from first: Int, window w: RolloutWindow) {
        let count = losses.policy.count - first
        guard mean, count > 0 else { return }
        let divisor = Float(policyDivisor(rows: count, window: w))
        for j in first..<losses.policy.count { losses.policy[j].coefficient /= divisor }
    }

    /// What a policy-like term with `rows` rows in window `w` is averaged over.
    func policyDivisor(rows: Int, window w: RolloutWindow) -> Int {
        guard config.policyMean == .steps else { return rows }
        return max(w.activeCount, 1)
    }
}
