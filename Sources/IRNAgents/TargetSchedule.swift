/// When to refresh the target (imagination) network: every `every` environment steps
/// (`--target-unit steps`) or gradient updates (`updates`). The one place that decides, for
/// `irn train` and for the cluster's server; only applied gradients are recorded.
public struct TargetSchedule: Sendable, Equatable {
    public let every: Int
    public let unit: TargetUnit
    /// Steps or updates counted so far.
    public private(set) var count: Int
    /// Refreshes due so far (the target network's version).
    public private(set) var refreshes: Int

    /// `every` 0 never refreshes. `count` and `refreshes` resume a checkpointed schedule.
    public init(every: Int, unit: TargetUnit, count: Int = 0, refreshes: Int = 0) {
        precondition(every >= 0 && count >= 0 && refreshes >= 0)
        self.every = every
        self.unit = unit
        self.count = count
        self.refreshes = refreshes
    }

    /// Counts the work of one applied gradient; true when a multiple of `every` was reached
    /// or crossed (the caller then refreshes the target). Several multiples crossed at once
    /// still give one refresh.
    public mutating func record(steps: Int, updates: Int) -> Bool {
        guard every > 0 else { return false }
        let before = count / every
        count += unit == .steps ? steps : updates
        let after = count / every
        if after > before { refreshes += 1; return true }
        return false
    }
}
