import IRNEvaluation
import IRNNumerics

/// A trained agent as a Recommender for the shared evaluator: items are ranked by the
/// policy's logits (pre-softmax; the softmax does not change the order) after feeding the
/// session so far, exactly as `NetworkParameters.scoreStep` computes them.
public struct AgentRecommender: Recommender {
    public let parameters: NetworkParameters
    public var itemCount: Int { parameters.shape.items }

    public init(parameters: NetworkParameters) { self.parameters = parameters }
    public init(checkpoint: AgentCheckpoint) { self.init(parameters: checkpoint.parameters) }

    public func makeScorer(slots: Int) -> any SessionScorer { AgentScorer(parameters: parameters, slots: slots) }
}

/// One evaluation thread's scorer: M recurrent states advanced together by one scoreStep.
public struct AgentScorer: SessionScorer {
    public let parameters: NetworkParameters
    private var state: RecurrentState
    private var feed: [Int32]

    public init(parameters: NetworkParameters, slots: Int) {
        self.parameters = parameters
        state = RecurrentState(slots: slots, shape: parameters.shape)
        feed = [Int32](repeating: -1, count: slots)
    }

    public var itemCount: Int { parameters.shape.items }

    /// A new session starts from the zero state, as in training.
    public mutating func reset(slot: Int) { state.reset(slot: slot) }

    /// Inactive slots are fed nothing (-1): their state stays as it is.
    public mutating func step(inputs: UnsafeBufferPointer<Int32>, active: UnsafeBufferPointer<Bool>,
                              scores: UnsafeMutableBufferPointer<Float>) {
        let M = state.slots
        for m in 0..<M { feed[m] = active[m] ? inputs[m] : -1 }
        feed.withUnsafeBufferPointer { f in
            parameters.scoreStep(inputs: f, resets: nil, state: &state, logits: scores)
        }
    }
}
