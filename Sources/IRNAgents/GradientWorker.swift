import IRNNumerics
import IRNSupport

/// The "compute a gradient" half of a training iteration (what a cluster actor runs): given
/// a rollout window, the current parameters and the target network, it builds the loss of
/// IRN.md's algorithm and returns its gradient. It keeps the per-slot recurrent states
/// (online and target) across windows and zeroes them at resets. It never changes the
/// parameters: applying the gradient (Adam) is the caller's (server's) step.
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

    private var losses = WindowLosses()
    private var returns: [Float] = []
    private var gammaPowers: [Float] = []

    public init(config: AgentConfig) throws {
        try config.validate()
        self.config = config
        let shape = config.shape, M = config.slots, k = config.window
        let imagine = config.algorithm.usesImagination && config.irnWeight > 0
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
        returns = [Float](repeating: 0, count: k * M)
        gammaPowers = (0...max(config.nStep, config.depth)).map { j in
            var g: Float = 1
            for _ in 0..<j { g *= config.gamma }
            return g
        }
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
        let M = config.slots, k = w.steps
        guard w.slots == M, k <= config.window, k >= 1, w.lookahead == config.nStep else {
            throw IRNError("rollout window is \(w.steps) steps x \(w.slots) slots with lookahead \(w.lookahead); the agent expects up to \(config.window) x \(config.slots) with lookahead \(config.nStep)")
        }
        try w.validate(items: config.items)
        let algo = config.algorithm
        let imagine = algo.usesImagination && config.irnWeight > 0
        let bootstrap = algo.usesClickReward

        // Online forward over the window (gives V(s_t) for the advantages).
        w.inputs.withUnsafeBufferPointer { inp in
            w.resets.withUnsafeBufferPointer { rst in
                onlineH.withUnsafeBufferPointer { h in
                    onlineC.withUnsafeBufferPointer { c in
                        backprop.forward(parameters, steps: k, inputs: inp, resets: rst, initialH: h, initialC: c)
                    }
                }
            }
        }
        // Target network: imagination samples and/or bootstrap values.
        if let tm = trajectories, imagine || bootstrap {
            tm.run(target: target, window: w, sample: imagine, bootstrap: bootstrap)
        }

        var stats = IterationStats()
        losses.removeAll()
        computeReturns(w, bootstrap: bootstrap)

        // A3C terms.
        var sumA = 0.0, sumAbsA = 0.0, sumV = 0.0
        for i in 0..<(k * M) where w.active[i] {
            stats.activeSteps += 1
            let purchase = w.targetIsPurchase[i]
            if purchase { stats.purchaseSteps += 1 }
            let v = backprop.value(at: i)
            sumV += Double(v)
            let G = returns[i]
            if config.criticSteps == .all || purchase {
                losses.value.append(.init(index: Int32(i), target: G, weight: config.valueWeight ?? 1))
            }
            if bootstrap || purchase {
                var A = config.baseline == .value ? G - v : G
                if let floor = config.advantageFloor { A = max(A, floor) }
                sumA += Double(A); sumAbsA += Double(abs(A))
                losses.policy.append(.init(index: Int32(i), action: w.targets[i], coefficient: A, entropy: config.entropy))
            }
        }
        let mean = config.lossReduction == .mean
        if mean {
            let P = Float(max(losses.policy.count, 1)), V = Float(max(losses.value.count, 1))
            for j in losses.policy.indices { losses.policy[j].coefficient /= P; losses.policy[j].entropy /= P }
            for j in losses.value.indices { losses.value[j].weight /= V }
        }

        if prefix != nil { attachPrefixes(w) }

        // Reconstruction terms (base logits only, also with the repeat head).
        if algo.reconstructsPrevious && config.irnWeight > 0 {
            for i in 0..<(k * M) where w.active[i] {
                losses.logit.append(.init(index: Int32(i), item: w.inputs[i], weight: config.irnWeight))
            }
            if mean, !losses.logit.isEmpty {
                let n = Float(losses.logit.count)
                for j in losses.logit.indices { losses.logit[j].weight /= n }
            }
            stats.reconstructionTerms = losses.logit.count
        }
        if imagine, let tm = trajectories, !tm.roots.isEmpty {
            let D = config.depth
            losses.branchDepth = D
            losses.branchRoots.append(contentsOf: tm.roots)
            losses.branchItems.append(contentsOf: tm.items)
            let terms = tm.roots.count * D
            let scale = mean ? config.irnWeight / Float(terms) : config.irnWeight
            for _ in 0..<tm.roots.count {
                for tau in 1...D { losses.branchWeights.append(scale * gammaPowers[tau]) }
            }
            stats.reconstructionTerms = terms
        }

        let lb = backprop.backward(parameters, losses: losses, into: &gradient)
        backprop.copyFinalStateInto(&onlineH, &onlineC)

        stats.policyTerms = losses.policy.count
        stats.valueTerms = losses.value.count
        stats.policyLoss = lb.policy
        stats.entropyLoss = lb.entropy
        stats.valueLoss = lb.value
        stats.reconstructionLoss = config.irnWeight > 0 ? (lb.logit + lb.branch) / Double(config.irnWeight) : 0
        stats.totalLoss = lb.total
        if stats.policyTerms > 0 {
            stats.meanAdvantage = sumA / Double(stats.policyTerms)
            stats.meanAbsAdvantage = sumAbsA / Double(stats.policyTerms)
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
                r += 1
            }
        }
    }

    /// G per active (t, m): -P the immediate reward; -F the n-step return
    /// sum_{j<n} gamma^j r_{t+j} + gamma^n V(s_{t+n}; theta^-), V = 0 past the session's end.
    private func computeReturns(_ w: RolloutWindow, bootstrap: Bool) {
        let M = config.slots, k = w.steps, n = config.nStep
        for i in 0..<(k * M) { returns[i] = w.active[i] ? w.rewards[i] : 0 }
        guard bootstrap, let tm = trajectories else { return }
        for m in 0..<M {
            for t in 0..<k where w.active[t * M + m] {
                // Walk the slot's session forward from step t: events e_0 = target(t), e_1, ...
                var G: Float = 0
                var exists = true
                var j = 0
                while j <= n {
                    let s = t + j
                    if j > 0 {
                        if s < k {
                            exists = w.active[s * M + m] && !w.resets[s * M + m]
                        } else {
                            exists = w.lookaheadItems[m * w.lookahead + (s - k)] >= 0
                        }
                    }
                    if !exists { break }
                    if j == n {
                        // e_n exists: s_{t+n} (after feeding e_{n-1}) is not terminal.
                        G += gammaPowers[n] * tm.values[s * M + m]
                    } else {
                        let r = s < k ? w.rewards[s * M + m] : w.lookaheadRewards[m * w.lookahead + (s - k)]
                        G += gammaPowers[j] * r
                    }
                    j += 1
                }
                returns[t * M + m] = G
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
