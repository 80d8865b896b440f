/// When to refresh the target (imagination) network: every `every` environment steps
/// (`--target-unit steps`, IRN.md's reading) or gradient updates (`updates`).
public struct TargetSchedule: Sendable, Equatable {
    public let every: Int
    public let unit: TargetUnit
    /// Steps or updates counted so far.
    public private(set) var count: Int = 0
    /// Refreshes due so far.
    public private(set) var refreshes: Int = 0

    public init(every: Int, unit: TargetUnit) {
        precondition(every > 0)
        self.every = every
        self.unit = unit
    }

    /// Counts work done; true when a multiple of `every` was reached or crossed (the caller
    /// then refreshes the target). Several multiples crossed at once still give one refresh.
    public mutating func record(steps: Int, updates: Int) -> Bool {
        let before = count / every
        count += unit == .steps ? steps : updates
        let after = count / every
        if after > before { refreshes += 1; return true }
        return false
    }
}
