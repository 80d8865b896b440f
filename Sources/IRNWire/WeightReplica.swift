import IRNNumerics

/// An actor's copy of the server's weights and target network, kept in step by Welcome
/// (full), WeightUpdate (patches: whole parameters or rows, exact values, so the replica is
/// bit-identical to the server at the same version) and TargetRefresh messages.
public struct WeightReplica: Sendable {
    public private(set) var version: UInt64 = 0
    public private(set) var targetVersion: UInt64 = 0
    /// Dense weights by name.
    public private(set) var weights: [String: TensorPart] = [:]
    /// Dense target network by name.
    public private(set) var target: [String: TensorPart] = [:]
    /// What changed since `takeChanges()` was last called (nil: everything, e.g. a full load).
    public private(set) var changes: [String: WeightChange]? = nil
    public private(set) var targetChanged = true
    public private(set) var loaded = false

    public init() {}

    /// Replaces everything (Welcome, or a full update).
    public mutating func load(version: UInt64, weights: [TensorPart], targetVersion: UInt64, target: [TensorPart]) {
        self.version = version
        self.weights = Dictionary(weights.map { ($0.name, $0.densified()) }, uniquingKeysWith: { $1 })
        self.targetVersion = targetVersion
        self.target = Dictionary(target.map { ($0.name, $0.densified()) }, uniquingKeysWith: { $1 })
        changes = nil
        targetChanged = true
        loaded = true
    }

    public enum PatchResult: Equatable, Sendable {
        case applied
        /// The patch is older than the replica: nothing to do.
        case old
        /// The replica misses updates before this patch: ask the server for a full copy.
        case gap
        /// Parts do not match the replica's parameters (names / shapes).
        case mismatch(String)
    }

    /// Applies a weight update if it continues from this replica's version.
    public mutating func apply(_ u: WeightUpdate) -> PatchResult {
        if u.toVersion <= version && loaded { return .old }
        if !u.full && (u.fromVersion != version || !loaded) { return .gap }
        for p in u.parts {
            guard let cur = weights[p.name] else {
                if u.full { continue }
                return .mismatch("unknown parameter \(p.name)")
            }
            guard cur.shape == p.shape else { return .mismatch("\(p.name): shape \(p.shape) vs \(cur.shape)") }
        }
        for p in u.parts {
            if weights[p.name] != nil {
                // In place: a copy of the part would make the patch copy the whole tensor.
                p.overwrite(&weights[p.name]!.values)
            } else {
                weights[p.name] = p.densified()
            }
            if changes != nil {
                changes!.merge(p.name, WeightChange(of: p))
            }
        }
        if u.full { changes = nil }
        version = u.toVersion
        return .applied
    }

    /// Target := weights, if the replica is at the refresh's version (else false: wait or resync).
    public mutating func refreshTarget(_ r: TargetRefresh) -> Bool {
        if r.targetVersion <= targetVersion && loaded { return true }
        if !r.parts.isEmpty {
            target = Dictionary(r.parts.map { ($0.name, $0.densified()) }, uniquingKeysWith: { $1 })
        } else {
            guard r.weightVersion == version else { return false }
            target = weights
        }
        targetVersion = r.targetVersion
        targetChanged = true
        return true
    }

    /// Returns and clears the change record (for producers that copy weights incrementally).
    public mutating func takeChanges() -> (weights: [String: WeightChange]?, target: Bool) {
        defer {
            changes = [:]
            targetChanged = false
        }
        return (changes, targetChanged)
    }
}
