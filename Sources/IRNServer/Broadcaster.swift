import IRNSupport
import IRNWire

/// Decides when the server's weight patches go out and merges the changes in between, so a
/// broadcast carries each changed row once. Patches go out every `interval` seconds, at the
/// latest every `every` updates, and every max(1, S / 2) updates under a staleness bound S
/// (after every update with S = 0 or without an interval), so gradients computed on the
/// newest broadcast weights are not dropped as stale.
struct Broadcaster {
    let interval: Double
    let every: UInt64
    let maxStaleness: UInt64?
    /// Changes applied since the last broadcast.
    private(set) var pending: [String: WeightChange] = [:]
    /// The weight version the actors have been sent.
    private(set) var lastVersion: UInt64
    private(set) var lastTime = 0.0

    init(interval: Double, every: UInt64, maxStaleness: UInt64?, version: UInt64) {
        self.interval = interval
        self.every = every
        self.maxStaleness = maxStaleness
        lastVersion = version
    }

    mutating func record(_ changes: [String: WeightChange]) {
        for (name, c) in changes { pending.merge(name, c) }
    }

    /// Due right after an update that brought the weights to `version`.
    func dueAfterUpdate(version: UInt64) -> Bool {
        if interval <= 0 { return true }
        let behind = version - lastVersion
        if every > 0 && behind >= every { return true }
        if let s = maxStaleness, behind >= max(1, s / 2) { return true }
        return false
    }

    /// Due by the clock.
    func dueByTime(_ now: Double) -> Bool { interval > 0 && now - lastTime >= interval }

    /// Takes the pending changes for a patch up to `version` (nil when nothing changed).
    mutating func take(version: UInt64, now: Double) -> (from: UInt64, changes: [String: WeightChange])? {
        lastTime = now
        guard !pending.isEmpty else { return nil }
        defer {
            pending = [:]
            lastVersion = version
        }
        return (lastVersion, pending)
    }
}
