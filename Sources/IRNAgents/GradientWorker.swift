import IRNNumerics
import IRNSupport

/// The "compute a gradient" half of a training iteration (what a cluster actor runs): given
/// a rollout window, the current parameters and the target network, it builds the loss of
/// the configured algorithm (its `LossTerm`s) and returns its gradient. It keeps the per-slot
/// recurrent states (online and target) across windows and zeroes them at resets. It never
/// changes the parameters: applying the gradient (Adam) is the caller's (server's) step.
public final class GradientWorker {
    public let config: AgentConfig
    public let backprop: WindowBackprop
    public let trajectories: TrajectoryManager?
    /// Online recurrent state per slot (M x H each).
    public private(set) var onlineH: [Float]
    public private(set) var onlineC: [Float]
    /// Repeat head: each slot's session prefix, carried across windows like the recurrent
    /// state (derived from the windows' inputs and resets).
    public private(set) var prefix: PrefixTracker?
    /// When set, every BLAS product is recorded (benchmarks count FLOPs with it).
    public var recorder: GemmRecorder? {
        didSet { backprop.recorder = recorder; trajectories?.recorder = recorder }
    }

    private let terms: [any LossTerm]
    /// What the terms need from the target network, every window.
    private let targetUse: TargetUse
    private let context: LossContext
    private var losses = WindowLosses()

    public init(config: AgentConfig) throws {
        try config.validate()
        guard !config.head.hasNext || config.head.transitions != nil else {
            throw IRNError("the repeat-next head needs its transition table: build it from the training split (AgentConfig.attachTransitions)")
        }
        self.config = config
        let shape = config.shape, M = config.slots, k = config.window
        terms = config.algorithm.lossTerms(config)
        targetUse = terms.reduce(TargetUse()) { $0.union($1.targetUse) }
        precondition(targetUse.isEmpty || config.usesTarget, "\(config.algorithm): a loss term needs the target network the agent does not keep")
        let imagine = targetUse.contains(.sample)
        backprop = WindowBackprop(shape: shape, slots: M, maxSteps: k,
                                  maxBranches: imagine ? k * M * config.breadth : 0, maxDepth: imagine ? config.depth : 0)
        if config.usesTarget {
            trajectories = TrajectoryManager(shape: shape, slots: M, maxSteps: k, breadth: config.breadth, depth: config.depth,
                                             lookahead: config.nStep, seed: config.seed ^ 0x7A3C_1E55)
        } else {
            trajectories = nil
        }
        onlineH = [Float](repeating: 0, count: M * config.hidden)
        onlineC = onlineH
        prefix = config.head.isRepeat ? PrefixTracker(slots: M, head: config.head) : nil
        context = LossContext(config: config, online: backprop, target: trajectories)
    }

    /// Restarts the imagination sampler on a stream of its own (`stream` != 0 differs from the
    /// stream `init` starts, which `irn train` uses): actors on different shards then draw
    /// different uniforms.
    public func reseedImagination(stream: UInt64) {
        trajectories?.reseed(config.seed ^ 0x7A3C_1E55 ^ (stream &* 0x9E37_79B9_7F4A_7C15))
    }

    /// Zeroes every slot's recurrent state (online and target).
    public func resetState() {
        onlineH.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        onlineC.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        trajectories?.resetState()
        prefix?.resetAll()
    }

    /// The loss terms of the last `computeGradient` (for inspection and tests).
    public var lastLosses: WindowLosses { losses }

    /// Convenience: a fresh gradient.
    public func computeGradient(_ window: RolloutWindow, parameters: NetworkParameters, target: NetworkParameters) throws -> (NetworkGradient, IterationStats) {
        var g = NetworkGradient(shape: config.shape)
        let s = try computeGradient(window, parameters: parameters, target: target, into: &g)
        return (g, s)
    }

    /// Fills `gradient` (storage reused) with dL/dtheta for the window; advances the slots'
    /// recurrent states to the end of the window.
    public func computeGradient(_ w: RolloutWindow, parameters: NetworkParameters, target: NetworkParameters, into gradient: inout NetworkGradient) throws -> IterationStats {
        guard w.slots == config.slots, w.steps <= config.window, w.steps >= 1, w.lookahead == config.nStep else {
            throw IRNError("rollout window is \(w.steps) steps x \(w.slots) slots with lookahead \(w.lookahead); the agent expects up to \(config.window) x \(config.slots) with lookahead \(config.nStep)")
        }
        try w.validate(items: config.items)

        forwardOnline(w, parameters)
        if let tm = trajectories, !targetUse.isEmpty {
            tm.run(target: target, window: w, sample: targetUse.contains(.sample), bootstrap: targetUse.contains(.bootstrap))
        }
        var stats = windowStatistics(w)
        losses.removeAll()
        for term in terms { term.append(w, context, to: &losses, stats: &stats) }
        // Terms append in their own order; the prefixes below (and readers of the losses)
        // walk the policy rows in window order (two terms' rows interleave, e.g. the click
        // term's with -P's purchase rows).
        if !losses.policy.indices.dropFirst().allSatisfy({ losses.policy[$0 - 1].index <= losses.policy[$0].index }) {
            losses.policy.sort { $0.index < $1.index }
        }
        if prefix != nil { attachPrefixes(w) }

        let lb = backprop.backward(parameters, losses: losses, into: &gradient)
        backprop.copyFinalStateInto(&onlineH, &onlineC)

        stats.policyTerms = losses.policy.count
        stats.valueTerms = losses.value.count
        stats.policyLoss = lb.policy
        stats.entropyLoss = lb.entropy
        stats.valueLoss = lb.value
        stats.reconstructionLoss = config.irnWeight > 0 ? (lb.logit + lb.branch) / Double(config.irnWeight) : 0
        stats.totalLoss = lb.total
        return stats
    }

    /// The online network's forward over the window, from the slots' carried states (gives
    /// V(s_t) for the advantages).
    private func forwardOnline(_ w: RolloutWindow, _ parameters: NetworkParameters) {
        w.inputs.withUnsafeBufferPointer { inp in
            w.resets.withUnsafeBufferPointer { rst in
                onlineH.withUnsafeBufferPointer { h in
                    onlineC.withUnsafeBufferPointer { c in
                        backprop.forward(parameters, steps: w.steps, inputs: inp, resets: rst, initialH: h, initialC: c)
                    }
                }
            }
        }
    }

    /// Active steps, purchase targets and the mean online V(s_t) over active steps.
    private func windowStatistics(_ w: RolloutWindow) -> IterationStats {
        var stats = IterationStats()
        var sumV = 0.0
        for i in 0..<(w.steps * w.slots) where w.active[i] {
            stats.activeSteps += 1
            if w.targetIsPurchase[i] { stats.purchaseSteps += 1 }
            sumV += Double(backprop.value(at: i))
        }
        if stats.activeSteps > 0 { stats.meanValue = sumV / Double(stats.activeSteps) }
        return stats
    }

    /// Repeat head: advances the slots' prefixes through the window (reset, then feed the
    /// step's input, as the online network does) and copies each policy term's prefix and
    /// features into the losses. Policy terms are in index order, which is time order per slot.
    private func attachPrefixes(_ w: RolloutWindow) {
        let M = config.slots, n = w.steps * M
        var r = 0
        for i in 0..<n {
            let m = i % M
            if w.resets[i] { prefix!.reset(slot: m) }
            if w.active[i] { prefix!.feed(slot: m, item: w.inputs[i]) }
            while r < losses.policy.count && Int(losses.policy[r].index) == i {
                losses.appendPolicyPrefix(from: prefix!, slot: m)
                if config.head.hasNext { losses.appendPolicyNext(from: &prefix!, slot: m) }
                r += 1
            }
        }
    }
}

extension WindowBackprop {
    /// Copies the state after the window's last step into the two M x H arrays.
    func copyFinalStateInto(_ h: inout [Float], _ c: inout [Float]) {
        h.withUnsafeMutableBufferPointer { hp in
            c.withUnsafeMutableBufferPointer { cp in copyFinalState(h: hp.baseAddress!, c: cp.baseAddress!) }
        }
    }
}
