import IRNNumerics
import IRNWire

/// The model the server trains (`AgentStore`: the real network and Adam; `VisitCountStore`:
/// the self-test). The server calls it from one thread only (its loop), so implementations need no locking.
///
/// Parts are matched by name. Weight and target parts must be dense in `weights(nil)` and
/// `target()`; a selection asks for the current values of changed parameters/rows only
/// (row-sparse parts for `.rows`), which is what the server broadcasts after updates.
public protocol ParameterStore: AnyObject {
    /// Gradient applications so far; restored by `restore`. Starts at 0.
    var version: UInt64 { get }
    /// Applies one gradient, still in its received frames (the views are valid during the
    /// call only; the wire checked them: well-formed, finite). Must throw, changing nothing,
    /// if a part's name or shape does not belong to the model. Increments `version` by one
    /// and returns what changed.
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
