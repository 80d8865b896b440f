/// One scoring job for the batcher: a whole session (stateless) or one event of a stateful
/// session. Items are dense indices (the HTTP layer resolved the original ids).
public struct ServeJob: Sendable {
    public enum Kind: Sendable {
        /// Score after feeding `items` from the empty state.
        case recommend(items: [Int32])
        /// Feed `item` (nil: an unknown id, feed nothing) into session `session`'s state.
        case event(session: String, item: Int32?)
    }

    public var kind: Kind
    public var k: Int
    public var excludeSeen: Bool

    public init(kind: Kind, k: Int, excludeSeen: Bool) {
        self.kind = kind
        self.k = k
        self.excludeSeen = excludeSeen
    }

    var sessionId: String? {
        if case .event(let s, _) = kind { return s }
        return nil
    }
}

/// The answer to one job: dense items best first, their scores, and with the repeat head
/// each item's share of the score that came from the repeat (prefix) features.
public struct ServeResult: Sendable {
    public var items: [Int32] = []
    public var scores: [Float] = []
    public var repeatScores: [Float]?
    public var modelVersion: UInt64 = 0
    /// Events of a stateful session so far (nil for stateless requests).
    public var sessionLength: Int?
}
