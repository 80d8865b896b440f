import IRNEvaluation
import IRNNumerics

/// The evaluator's view of a network: scores every item with the policy logits, one
/// `scoreStep` for all slots. (Minimal adapter for the server's background evaluation.)
public struct ParameterRecommender: Recommender {
    public let parameters: NetworkParameters
    public init(parameters: NetworkParameters) { self.parameters = parameters }
    public var itemCount: Int { parameters.shape.items }
    public func makeScorer(slots: Int) -> any SessionScorer { Scorer(parameters: parameters, slots: slots) }

    struct Scorer: SessionScorer {
        let parameters: NetworkParameters
        var state: RecurrentState
        var inputs: [Int32]
        init(parameters: NetworkParameters, slots: Int) {
            self.parameters = parameters
            state = RecurrentState(slots: slots, shape: parameters.shape)
            inputs = [Int32](repeating: -1, count: slots)
        }
        var itemCount: Int { parameters.shape.items }
        mutating func reset(slot: Int) { state.reset(slot: slot) }
        mutating func step(inputs given: UnsafeBufferPointer<Int32>, active: UnsafeBufferPointer<Bool>,
                           scores: UnsafeMutableBufferPointer<Float>) {
            // Inactive slots feed nothing (their rows are ignored by the evaluator).
            for m in 0..<state.slots { inputs[m] = active[m] ? given[m] : -1 }
            inputs.withUnsafeBufferPointer { parameters.scoreStep(inputs: $0, resets: nil, state: &state, logits: scores) }
        }
    }
}
