import IRNNumerics
import IRNWire

/// What a gradient application changed in one parameter: everything, or some rows.
public enum WeightChange: Sendable, Equatable {
    case all
    case rows([Int32])

    /// Union of two changes (rows stay sorted and unique).
    public func merged(with other: WeightChange) -> WeightChange {
        switch (self, other) {
        case (.all, _), (_, .all): return .all
        case let (.rows(a), .rows(b)): return .rows(Array(Set(a).union(b)).sorted())
        }
    }
}

/// The model the server trains: the lead implements it with the real network and Adam.
/// The server calls it from one thread only (its loop), so implementations need no locking.
///
/// Parts are matched by name. Weight and target parts must be dense in `weights(nil)` and
/// `target()`; a selection asks for the current values of changed parameters/rows only
/// (row-sparse parts for `.rows`), which is what the server broadcasts after updates.
public protocol ParameterStore: AnyObject {
    /// Gradient applications so far; restored by `restore`. Starts at 0.
    var version: UInt64 { get }
    /// Applies one gradient (already checked by the wire: well-formed, finite). Must throw,
    /// changing nothing, if a part's name or shape does not belong to the model. Increments
    /// `version` by one and returns what changed.
    func apply(_ gradient: [TensorPart]) throws -> [String: WeightChange]
    /// The same for a gradient still in its received frames (valid during the call only).
    /// The default copies the values out and calls `apply(_:)`.
    func apply(views: [TensorPartView]) throws -> [String: WeightChange]
    /// Current weights: all parts (dense) for nil, else the selected parameters / rows.
    func weights(_ selection: [String: WeightChange]?) -> [TensorPart]
    /// The target (imagination) network, dense.
    func target() -> [TensorPart]
    /// Target := current weights.
    func refreshTarget()
    /// Everything needed to resume (weights, optimizer moments, target, version). Names must
    /// not start with "server." (the server's own state uses that prefix).
    func checkpointTensors() -> [String: SafetensorsTensor]
    /// Restores what `checkpointTensors` wrote; throws with a clear message on a mismatch.
    func restore(from tensors: [String: SafetensorsTensor]) throws
}

extension ParameterStore {
    public func apply(views: [TensorPartView]) throws -> [String: WeightChange] {
        try apply(views.map(\.part))
    }
}
