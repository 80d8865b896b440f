import IRNData

/// Scores all items for a batch of sessions that advance in lock step ("slots").
///
/// One instance serves one evaluation thread; it holds the state of `slots` sessions at once
/// so that a neural model can score them all with one matrix product.
public protocol SessionScorer {
    /// Number of items scored (the data set's dense item count).
    var itemCount: Int { get }
    /// Starts a new, empty session in `slot`.
    mutating func reset(slot: Int)
    /// For each slot with `active[slot]`: feed `inputs[slot]` (a dense item index, or -1 to
    /// feed nothing and leave the state unchanged, used for cold start), then write that
    /// slot's scores for every item into `scores[slot * itemCount ..< (slot + 1) * itemCount]`.
    /// Rows of inactive slots may be left untouched. Higher score = ranked earlier.
    mutating func step(inputs: UnsafeBufferPointer<Int32>, active: UnsafeBufferPointer<Bool>,
                       scores: UnsafeMutableBufferPointer<Float>)
}

/// A trained model that the evaluator can rank with. Every model in the project (baselines,
/// agents) conforms, so every figure comes from the same evaluation code.
public protocol Recommender: Sendable {
    var itemCount: Int { get }
    /// A fresh scorer with `slots` parallel sessions, all empty.
    func makeScorer(slots: Int) -> any SessionScorer
}
