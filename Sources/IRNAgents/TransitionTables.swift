import IRNData
import IRNEvaluation
import IRNNumerics
import IRNSupport

/// Where the repeat-next head's transition table comes from: the training split the agent
/// learns from (train_tr for validation runs, train for the retrain), never valid or test.
/// Every process that trains or scores such a head (irn train, irn eval, the server, each
/// actor) rebuilds it from its prepared data; the checksum in the model or the welcome
/// refuses a table built from other data.
extension TransitionTable {
    public static func build(from sessions: SessionSet, itemCount: Int, followersPerItem: Int,
                             cooccurrence: Bool = false) -> TransitionTable {
        TransitionTable(sessionOffsets: sessions.offsets, items: sessions.items, itemCount: itemCount,
                        followersPerItem: followersPerItem, cooccurrence: cooccurrence)
    }
}

extension PolicyHead {
    /// Builds the table from the head's recorded split (or `split` when none is recorded) and
    /// attaches it; nothing for the other heads or when a table is attached already.
    public mutating func attachTransitions(from dataset: PreparedDataset, split: TrainSplit) throws {
        guard hasNext, transitions == nil else { return }
        let part = try transitionSplit.map { s in
            guard let p = TrainSplit(rawValue: s) else { throw IRNError("unknown transition table split '\(s)'") }
            return p
        } ?? split
        let table = TransitionTable.build(from: dataset.sessions(of: part), itemCount: dataset.itemCount, followersPerItem: followersPerItem,
                                          cooccurrence: nextSessionSource == .cooccurrence)
        try attach(table, split: part.rawValue)
    }
}

extension AgentConfig {
    /// `head.attachTransitions` for this agent's data.
    public mutating func attachTransitions(from dataset: PreparedDataset, split: TrainSplit) throws {
        try head.attachTransitions(from: dataset, split: split)
    }
}

extension AgentRecommender {
    /// The same agent with its repeat-next head's table attached (rebuilt from `dataset` and
    /// checked against the model's checksum); itself for the other heads.
    public func attachingTransitions(from dataset: PreparedDataset) throws -> AgentRecommender {
        guard parameters.shape.head.hasNext, parameters.shape.head.transitions == nil else { return self }
        var head = parameters.shape.head
        guard head.transitionSplit != nil else { throw IRNError("the model's repeat-next head records no transition table split") }
        try head.attachTransitions(from: dataset, split: .train)
        var p = parameters
        try p.attachTransitions(head.transitions!, split: head.transitionSplit!)
        return AgentRecommender(parameters: p)
    }
}
