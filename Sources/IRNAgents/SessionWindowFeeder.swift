import IRNData
import IRNSupport

/// Session-parallel mini-batches (docs/algorithm.md#environment, after Hidasi et al. 2016) cut into
/// rollout windows. The data module's `SessionEnvironment` decides which session each slot
/// holds, in which order, and when a slot resets; the data module's `RewardModel` decides
/// each event's reward, with reward density d drawn per event from (seed, event index), so
/// an event looks the same as a lookahead and later as a target, whichever slot replays it.
/// This type only adds the window shape: k steps, plus the events after the last target that
/// -F's n-step returns need (`lookahead`).
public final class SessionWindowFeeder {
    public let sessions: SessionSet
    public let slots: Int
    public let steps: Int
    public let lookahead: Int
    public let rewards: RewardModel
    public let environment: SessionEnvironment
    /// Transitions (events after each session's first) the feeder will hand out in all.
    public let totalTransitions: Int
    /// Transitions handed out so far.
    public private(set) var transitionsFed = 0

    public var purchaseReward: Float { rewards.purchaseReward }
    public var clickReward: Float { rewards.clickReward }

    /// `order`: session indices in the order slots take them (nil: 0..<count). Sessions with
    /// fewer than 2 events are skipped.
    public init(sessions: SessionSet, order: [Int]? = nil, slots: Int, steps: Int, lookahead: Int,
                purchaseReward: Float, clickReward: Float, density: Double = 1, seed: UInt64) {
        precondition(steps >= 1 && lookahead >= 0, "a window needs at least one step")
        self.sessions = sessions
        self.slots = slots
        self.steps = steps
        self.lookahead = lookahead
        rewards = RewardModel(purchaseReward: purchaseReward, clickReward: clickReward, density: density, seed: seed)
        // Short sessions dropped up front, so `finished` can be read off the environment.
        let kept = (order ?? Array(0..<sessions.count)).filter { sessions.length(of: $0) >= 2 }
        environment = SessionEnvironment(sessions: sessions, order: kept, slots: slots)
        totalTransitions = kept.reduce(0) { $0 + sessions.length(of: $1) - 1 }
    }

    /// A feeder configured from an agent's rewards and sizes; the density draws use
    /// `config.rewardSeed` unless a test gives its own `seed`.
    public convenience init(sessions: SessionSet, order: [Int]? = nil, config: AgentConfig, density: Double = 1, seed: UInt64? = nil) {
        self.init(sessions: sessions, order: order, slots: config.slots, steps: config.window, lookahead: config.nStep,
                  purchaseReward: config.purchaseReward, clickReward: config.clickReward, density: density,
                  seed: seed ?? config.rewardSeed)
    }

    /// True once every session has been fed to its end.
    public var finished: Bool { transitionsFed >= totalTransitions }

    /// Whether event `e` (global index) counts as a purchase after reward density.
    public func isPurchase(event e: Int) -> Bool { rewards.isPurchase(eventIndex: e, type: sessions.types[e]) }

    /// Fills the next window; false when no slot had anything left to feed.
    public func next(into w: inout RolloutWindow) -> Bool {
        precondition(w.steps == steps && w.slots == slots && w.lookahead == lookahead)
        w.clear()
        let env = environment
        var any = false
        for t in 0..<steps {
            guard !finished, env.step() else { break }
            for m in 0..<slots where env.active[m] {
                let i = t * slots + m
                let e = sessions.offsets[Int(env.session[m])] + Int(env.position[m]) + 1  // the target event
                w.inputs[i] = env.input[m]
                w.targets[i] = env.target[m]
                w.resets[i] = env.reset[m]
                w.active[i] = true
                w.targetIsPurchase[i] = rewards.isPurchase(eventIndex: e, type: env.targetType[m])
                w.rewards[i] = w.targetIsPurchase[i] ? rewards.purchaseReward : rewards.clickReward
                transitionsFed += 1
                any = true
            }
        }
        // Events after the last step's target in the same session, for n-step returns.
        if lookahead > 0 {
            for m in 0..<slots where w.active[(steps - 1) * slots + m] {
                let s = Int(env.session[m])
                let end = sessions.offsets[s + 1]
                let after = sessions.offsets[s] + Int(env.position[m]) + 2
                for j in 0..<lookahead {
                    let e = after + j
                    if e >= end { break }
                    w.lookaheadItems[m * lookahead + j] = sessions.items[e]
                    w.lookaheadRewards[m * lookahead + j] = rewards.reward(eventIndex: e, type: sessions.types[e])
                }
            }
        }
        return any
    }
}
