import IRNNumerics

/// -P: G_t = r_t, the immediate reward (purchase reward at purchases, the click reward at clicks).
struct ImmediateReturns: LossTerm {
    var targetUse: TargetUse { [] }

    func append(_ w: RolloutWindow, _ ctx: LossContext, to losses: inout WindowLosses, stats: inout IterationStats) {
        for i in 0..<(w.steps * w.slots) { ctx.returns[i] = w.active[i] ? w.rewards[i] : 0 }
    }
}

/// -F: the n-step return G_t = sum_{j<n} gamma^j r_{t+j} + gamma^n V(s_{t+n}; theta^-), with
/// V = 0 past the session's end; rewards past the window come from its lookahead.
struct NStepReturns: LossTerm {
    var targetUse: TargetUse { .bootstrap }

    func append(_ w: RolloutWindow, _ ctx: LossContext, to losses: inout WindowLosses, stats: inout IterationStats) {
        ImmediateReturns().append(w, ctx, to: &losses, stats: &stats)
        guard let tm = ctx.target else { return }
        let M = w.slots, k = w.steps, n = ctx.config.nStep
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
                        G += ctx.gammaPowers[n] * tm.values[s * M + m]
                    } else {
                        let r = s < k ? w.rewards[s * M + m] : w.lookaheadRewards[m * w.lookahead + (s - k)]
                        G += ctx.gammaPowers[j] * r
                    }
                    j += 1
                }
                ctx.returns[t * M + m] = G
            }
        }
    }
}
