import IRNNumerics

/// A3C's policy term (docs/algorithm.md#a3c-losses): -A log pi(a_t|s_t) for the logged next item
/// a_t, with the advantage A = G_t - V(s_t) (`--baseline none`: A = G_t), floored by
/// `--advantage-floor`, a constant for the gradient. At every active step (-F) or at
/// purchase steps only (-P).
struct PolicyGradient: LossTerm {
    enum Steps { case every, purchases }
    let steps: Steps

    var targetUse: TargetUse { [] }

    func append(_ w: RolloutWindow, _ ctx: LossContext, to losses: inout WindowLosses, stats: inout IterationStats) {
        let config = ctx.config, first = losses.policy.count
        var sumA = 0.0, sumAbsA = 0.0
        for i in 0..<(w.steps * w.slots) where w.active[i] && (steps == .every || w.targetIsPurchase[i]) {
            let G = ctx.returns[i]
            var A = config.baseline == .value ? G - ctx.online.value(at: i) : G
            if let floor = config.advantageFloor { A = max(A, floor) }
            sumA += Double(A); sumAbsA += Double(abs(A))
            losses.policy.append(.init(index: Int32(i), action: w.targets[i], coefficient: A))
        }
        let count = losses.policy.count - first
        ctx.reducePolicyRows(&losses, from: first, window: w)
        if count > 0 {
            stats.meanAdvantage = sumA / Double(count)
            stats.meanAbsAdvantage = sumAbsA / Double(count)
        }
    }
}

/// The critic: weight * 0.5 (G_t - V(s_t))^2 (`--value-weight`, default 1), at every active
/// step (`--critic-steps all`) or at purchase steps.
struct ValueRegression: LossTerm {
    var targetUse: TargetUse { [] }

    func append(_ w: RolloutWindow, _ ctx: LossContext, to losses: inout WindowLosses, stats: inout IterationStats) {
        let config = ctx.config, first = losses.value.count
        for i in 0..<(w.steps * w.slots) where w.active[i] && (config.criticSteps == .all || w.targetIsPurchase[i]) {
            losses.value.append(.init(index: Int32(i), target: ctx.returns[i], weight: config.valueWeight ?? 1))
        }
        if ctx.mean {
            let V = Float(max(losses.value.count - first, 1))
            for j in first..<losses.value.count { losses.value[j].weight /= V }
        }
    }
}

/// The entropy bonus -beta H(pi(.|s_t)) (`--entropy`) on every policy term's row, reduced
/// like the policy terms (over all their rows, or the window's active steps).
struct EntropyBonus: LossTerm {
    var targetUse: TargetUse { [] }

    func append(_ w: RolloutWindow, _ ctx: LossContext, to losses: inout WindowLosses, stats: inout IterationStats) {
        let beta = ctx.config.entropy
        let P = Float(max(ctx.policyDivisor(rows: losses.policy.count, window: w), 1))
        for j in losses.policy.indices { losses.policy[j].entropy = ctx.mean ? beta / P : beta }
    }
}

/// The supervised next-click term (`--click-weight`, beyond the paper): weight * -log pi(a_t|s_t)
/// at every active step whose logged next event is a click, reduced over its own terms like
/// the policy term. A policy row with a constant coefficient, so it trains everything the
/// policy row reaches: the base logits and, with the repeat heads, both state gates
/// (`gatesOnly`, `--click-scope gates`: the gates' parameters only).
struct NextClickSupervision: LossTerm {
    let weight: Float
    var gatesOnly = false

    var targetUse: TargetUse { [] }

    func append(_ w: RolloutWindow, _ ctx: LossContext, to losses: inout WindowLosses, stats: inout IterationStats) {
        let first = losses.policy.count
        for i in 0..<(w.steps * w.slots) where w.active[i] && !w.targetIsPurchase[i] {
            losses.policy.append(.init(index: Int32(i), action: w.targets[i], coefficient: weight, gatesOnly: gatesOnly))
        }
        stats.clickTerms = losses.policy.count - first
        ctx.reducePolicyRows(&losses, from: first, window: w)
    }
}
