import IRNSupport

/// One rollout of k environment steps over M session-parallel slots, the input of one
/// gradient computation. Arrays are flat, index `step * slots + slot`.
///
/// At step t, an active slot feeds `inputs` (the item just observed) and the logged next
/// event is the action/target (`targets`, `targetIsPurchase` after reward density, and its
/// `rewards`). `resets` marks the first step of a new session in that slot: its recurrent
/// state (online and target) is zeroed before feeding. An inactive slot carries no loss and
/// its recurrent state is undefined until its next reset (a slot taking a new session must
/// be reset).
public struct RolloutWindow: Sendable, Equatable {
    public let steps: Int
    public let slots: Int
    /// Future events per slot after the window (for -F's n-step returns).
    public let lookahead: Int

    public var inputs: [Int32]
    public var targets: [Int32]
    public var targetIsPurchase: [Bool]
    public var rewards: [Float]
    public var resets: [Bool]
    public var active: [Bool]
    /// Per slot, the logged events following the last step's target in the same session:
    /// `lookaheadItems[slot * lookahead + j]`, -1 past the session's end.
    public var lookaheadItems: [Int32]
    public var lookaheadRewards: [Float]

    public init(steps: Int, slots: Int, lookahead: Int) {
        self.steps = steps
        self.slots = slots
        self.lookahead = lookahead
        let n = steps * slots
        inputs = [Int32](repeating: -1, count: n)
        targets = inputs
        targetIsPurchase = [Bool](repeating: false, count: n)
        rewards = [Float](repeating: 0, count: n)
        resets = targetIsPurchase
        active = targetIsPurchase
        lookaheadItems = [Int32](repeating: -1, count: slots * lookahead)
        lookaheadRewards = [Float](repeating: 0, count: slots * lookahead)
    }

    /// Marks everything inactive (storage kept).
    public mutating func clear() {
        for i in inputs.indices {
            inputs[i] = -1; targets[i] = -1; targetIsPurchase[i] = false; rewards[i] = 0; resets[i] = false; active[i] = false
        }
        for i in lookaheadItems.indices { lookaheadItems[i] = -1; lookaheadRewards[i] = 0 }
    }

    /// Number of active (step, slot) pairs.
    public var activeCount: Int { active.reduce(0) { $0 + ($1 ? 1 : 0) } }

    /// Rejects windows an agent cannot use, saying what is wrong.
    public func validate(items: Int) throws {
        let n = steps * slots
        guard inputs.count == n, targets.count == n, targetIsPurchase.count == n, rewards.count == n,
              resets.count == n, active.count == n,
              lookaheadItems.count == slots * lookahead, lookaheadRewards.count == slots * lookahead else {
            throw IRNError("rollout window arrays do not match \(steps) steps x \(slots) slots")
        }
        for i in 0..<n where active[i] {
            guard inputs[i] >= 0 && Int(inputs[i]) < items && targets[i] >= 0 && Int(targets[i]) < items else {
                throw IRNError("rollout window: step \(i / slots) slot \(i % slots) has item out of range 0..<\(items) (input \(inputs[i]), target \(targets[i]))")
            }
        }
        for t in 1..<max(steps, 1) {
            for m in 0..<slots where active[t * slots + m] && !active[(t - 1) * slots + m] && !resets[t * slots + m] {
                throw IRNError("rollout window: slot \(m) becomes active at step \(t) without a reset")
            }
        }
        for i in lookaheadItems.indices where Int(lookaheadItems[i]) >= items {
            throw IRNError("rollout window: lookahead item \(lookaheadItems[i]) out of range 0..<\(items)")
        }
    }
}
