import IRNNumerics

/// PRN-P's reconstruction of the real previous item: after feeding i_{t-1}, its logit should
/// be 1: w * (z[i_{t-1}] - 1)^2 at every active step, w = `--irn-weight`.
struct PreviousItemReconstruction: LossTerm {
    var targetUse: TargetUse { [] }

    func append(_ w: RolloutWindow, _ ctx: LossContext, to losses: inout WindowLosses, stats: inout IterationStats) {
        let weight = ctx.config.irnWeight, first = losses.logit.count
        guard weight > 0 else { return }
        for i in 0..<(w.steps * w.slots) where w.active[i] {
            losses.logit.append(.init(index: Int32(i), item: w.inputs[i], weight: weight))
        }
        let count = losses.logit.count - first
        if ctx.mean, count > 0 {
            let n = Float(count)
            for j in first..<losses.logit.count { losses.logit[j].weight /= n }
        }
        stats.reconstructionTerms += count
    }
}

/// IRN's imagination reconstruction (docs/algorithm.md#imagination-reconstruction): for every trajectory the target
/// network sampled from a window state, the online network is fed its items from that
/// state, and after the tau-th item that item's logit should be 1:
/// w gamma^tau (z_tau[i_tau] - 1)^2, w = `--irn-weight`.
struct ImaginationReconstruction: LossTerm {
    let weight: Float

    var targetUse: TargetUse { weight > 0 ? .sample : [] }

    func append(_ w: RolloutWindow, _ ctx: LossContext, to losses: inout WindowLosses, stats: inout IterationStats) {
        guard weight > 0, let tm = ctx.target, !tm.roots.isEmpty else { return }
        let D = ctx.config.depth
        losses.branchDepth = D
        losses.branchRoots.append(contentsOf: tm.roots)
        losses.branchItems.append(contentsOf: tm.items)
        let terms = tm.roots.count * D
        let scale = ctx.mean ? weight / Float(terms) : weight
        for _ in 0..<tm.roots.count {
            for tau in 1...D { losses.branchWeights.append(scale * ctx.gammaPowers[tau]) }
        }
        stats.reconstructionTerms += terms
    }
}
