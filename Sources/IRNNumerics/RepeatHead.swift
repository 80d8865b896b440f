import Foundation
import IRNSupport

/// Which policy head the network has. `plain` is the paper's, z = W_p h + b_p. `repeat` is
/// The repeat-aware head (docs/algorithm.md#repeat-head): for the items i of the current session prefix,
///   z_i = w_i . h + b_i + g(h) . phi_i(s),   g(h) = W_g h + b_g (4 outputs),
/// with the four prefix features of `PrefixTracker`; every other item keeps the plain logit.
/// Imagination and PRN use the base logits w . h + b only. `repeat-next` is the repeat head
/// plus, for candidates outside the prefix reached by the training split's transitions
/// (`TransitionTable`), z_j += g_n(h) . psi_j(s) with a second gate g_n(h) = W_n h + b_n
/// (docs/algorithm.md#repeat-next-head).
public struct PolicyHead: Sendable, Hashable, Codable, CustomStringConvertible {
    public enum Kind: String, CaseIterable, Sendable, Codable {
        case plain
        case repeatAware = "repeat"
        case repeatNext = "repeat-next"
    }
    /// `state`: g(h) = W_g h + b_g (the head). `constant`: g = b_g, W_g unused and kept at 0
    /// (the "gate fixed at constants" ablation).
    public enum Gate: String, CaseIterable, Sendable, Codable { case state, constant }
    /// Where the repeat-next head's `session` candidate feature sums scores from: the
    /// transitions (j right after i) or the co-occurrences (i and j in one session) of the
    /// training split (`TransitionTable`).
    public enum SessionSource: String, CaseIterable, Sendable, Codable { case transitions, cooccurrence }

    public private(set) var kind: Kind
    /// Which of the four prefix features are used (`PrefixFeature` order); an unused
    /// feature is 0 for every item (ablations). All true for the plain head.
    public private(set) var features: [Bool]
    public private(set) var gate: Gate
    /// Repeat-next head: which of the four candidate features (`NextFeature` order) are used;
    /// all true for the other heads.
    public private(set) var nextFeatures: [Bool]
    /// Repeat-next head: L of the transition table, the training split it is built from, and
    /// its checksum once built (nil before `attach`); 0 / nil for the other heads.
    public private(set) var followersPerItem: Int
    public private(set) var transitionSplit: String?
    public private(set) var transitionChecksum: UInt64?
    /// The table itself (not encoded, not compared: the checksum stands for it). Set with
    /// `attach`; training and scoring a repeat-next head need it.
    public private(set) var transitions: TransitionTable?
    /// Repeat-next head: initial b_n (`--next-gate-init`; default 0, so training starts from
    /// the repeat head); W_n starts at 0.
    public private(set) var nextGateInit: [Float]
    /// Repeat-next head: the `session` feature's source (`--next-session-source`); the table
    /// then also holds the co-occurrence lists.
    public private(set) var nextSessionSource: SessionSource

    public static let plain = PolicyHead(kind: .plain)

    /// The plain head ignores `features` and `gate` (so every plain head compares equal);
    /// only the repeat-next head keeps the `next...` and table fields.
    public init(kind: Kind, features: [Bool] = [true, true, true, true], gate: Gate = .state,
                nextFeatures: [Bool] = [true, true, true, true], followersPerItem: Int = 100,
                transitionSplit: String? = nil, transitionChecksum: UInt64? = nil, nextGateInit: [Float] = [0, 0, 0, 0],
                nextSessionSource: SessionSource = .transitions) {
        precondition(features.count == PrefixFeature.allCases.count, "the repeat head has \(PrefixFeature.allCases.count) prefix features")
        precondition(nextFeatures.count == NextFeature.allCases.count, "the repeat-next head has \(NextFeature.allCases.count) candidate features")
        self.kind = kind
        self.features = kind == .plain ? [true, true, true, true] : features
        self.gate = kind == .plain ? .state : gate
        let next = kind == .repeatNext
        self.nextFeatures = next ? nextFeatures : [true, true, true, true]
        self.followersPerItem = next ? followersPerItem : 0
        self.transitionSplit = next ? transitionSplit : nil
        self.transitionChecksum = next ? transitionChecksum : nil
        precondition(nextGateInit.count == 4, "the candidate gate has 4 outputs")
        self.nextGateInit = next ? nextGateInit : [0, 0, 0, 0]
        self.nextSessionSource = next ? nextSessionSource : .transitions
    }

    /// The repeat-next head with the features, gate and table size given.
    public static func repeatNext(features: [Bool] = [true, true, true, true], gate: Gate = .state,
                                  nextFeatures: [Bool] = [true, true, true, true], followersPerItem: Int = 100,
                                  nextGateInit: [Float] = [0, 0, 0, 0], nextSessionSource: SessionSource = .transitions) -> PolicyHead {
        PolicyHead(kind: .repeatNext, features: features, gate: gate, nextFeatures: nextFeatures, followersPerItem: followersPerItem,
                   nextGateInit: nextGateInit, nextSessionSource: nextSessionSource)
    }

    /// Whether the head has the candidate features and their gate (`head.next_gate.*`).
    public var hasNext: Bool { kind == .repeatNext }

    /// Attaches the transition table built from `split`; when the head already records a
    /// checksum (a model file, the cluster's welcome), a different table is refused.
    public mutating func attach(_ table: TransitionTable, split: String) throws {
        precondition(hasNext, "only the repeat-next head has a transition table")
        guard table.followersPerItem == followersPerItem else {
            throw IRNError("transition table keeps \(table.followersPerItem) followers per item, the head \(followersPerItem)")
        }
        guard table.hasCooccurrence == (nextSessionSource == .cooccurrence) else {
            throw IRNError("transition table \(table.hasCooccurrence ? "has" : "lacks") co-occurrence lists but the head's session source is \(nextSessionSource.rawValue)")
        }
        if let want = transitionChecksum, want != table.checksum {
            throw IRNError("transition table mismatch: the model's table (split \(transitionSplit ?? "?"), L \(followersPerItem)) has checksum \(String(format: "%016llx", want)), the one built from this data's \(split) has \(table.checksumHex); use the prepared data the model was trained on")
        }
        if let want = transitionSplit, want != split {
            throw IRNError("transition table mismatch: the model's table comes from split \(want), not \(split)")
        }
        transitions = table
        transitionSplit = split
        transitionChecksum = table.checksum
    }

    public static func == (a: PolicyHead, b: PolicyHead) -> Bool {
        a.kind == b.kind && a.features == b.features && a.gate == b.gate && a.nextFeatures == b.nextFeatures
            && a.followersPerItem == b.followersPerItem && a.transitionSplit == b.transitionSplit && a.transitionChecksum == b.transitionChecksum
            && a.nextGateInit == b.nextGateInit && a.nextSessionSource == b.nextSessionSource
    }

    public func hash(into h: inout Hasher) {
        h.combine(kind); h.combine(features); h.combine(gate); h.combine(nextFeatures)
        h.combine(followersPerItem); h.combine(transitionSplit); h.combine(transitionChecksum); h.combine(nextGateInit)
        h.combine(nextSessionSource)
    }

    /// Lanes of the used candidate features are 1, the others 0.
    public var nextFeatureLanes: SIMD4<Float> {
        SIMD4(nextFeatures[0] ? 1 : 0, nextFeatures[1] ? 1 : 0, nextFeatures[2] ? 1 : 0, nextFeatures[3] ? 1 : 0)
    }

    /// The repeat-aware head with the features and gate given.
    public static func repeatAware(features: [Bool] = [true, true, true, true], gate: Gate = .state) -> PolicyHead {
        PolicyHead(kind: .repeatAware, features: features, gate: gate)
    }

    /// Whether the head has the prefix features and their gate (repeat and repeat-next).
    public var isRepeat: Bool { kind != .plain }

    /// E.g. "plain", "repeat (features session,count,recency,last; gate state)".
    public var description: String {
        guard isRepeat else { return kind.rawValue }
        let names = PrefixFeature.allCases.filter { features[$0.rawValue] }.map(\.name)
        let base = "features \(names.isEmpty ? "none" : names.joined(separator: ",")); gate \(gate.rawValue)"
        guard hasNext else { return "repeat (\(base))" }
        let next = NextFeature.allCases.filter { nextFeatures[$0.rawValue] }.map(\.name)
        return "repeat-next (\(base); next features \(next.isEmpty ? "none" : next.joined(separator: ",")); L \(followersPerItem)\(nextSessionSource == .cooccurrence ? "; session source cooccurrence" : ""); table \(transitionChecksum.map { String(format: "%016llx", $0) } ?? "not built"))"
    }

    private enum CodingKeys: String, CodingKey { case kind, features, gate, nextFeatures, followersPerItem, transitionSplit, transitionChecksum, nextGateInit, nextSessionSource }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(kind, forKey: .kind)
        try c.encode(features, forKey: .features)
        try c.encode(gate, forKey: .gate)
        guard hasNext else { return }
        try c.encode(nextFeatures, forKey: .nextFeatures)
        try c.encode(followersPerItem, forKey: .followersPerItem)
        try c.encodeIfPresent(transitionSplit, forKey: .transitionSplit)
        try c.encodeIfPresent(transitionChecksum.map { String(format: "%016llx", $0) }, forKey: .transitionChecksum)
        if nextGateInit != [0, 0, 0, 0] { try c.encode(nextGateInit, forKey: .nextGateInit) }
        if nextSessionSource != .transitions { try c.encode(nextSessionSource, forKey: .nextSessionSource) }
    }
    /// Decodes through the checking initialiser (a plain head ignores the other fields).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let kind = try c.decode(Kind.self, forKey: .kind)
        let features = try c.decodeIfPresent([Bool].self, forKey: .features) ?? [true, true, true, true]
        guard features.count == 4 else {
            throw DecodingError.dataCorruptedError(forKey: .features, in: c, debugDescription: "the repeat head has 4 prefix features, got \(features.count)")
        }
        let next = try c.decodeIfPresent([Bool].self, forKey: .nextFeatures) ?? [true, true, true, true]
        guard next.count == 4 else {
            throw DecodingError.dataCorruptedError(forKey: .nextFeatures, in: c, debugDescription: "the repeat-next head has 4 candidate features, got \(next.count)")
        }
        let sum = try c.decodeIfPresent(String.self, forKey: .transitionChecksum)
        let gateInit = try c.decodeIfPresent([Float].self, forKey: .nextGateInit) ?? [0, 0, 0, 0]
        guard gateInit.count == 4 else {
            throw DecodingError.dataCorruptedError(forKey: .nextGateInit, in: c, debugDescription: "the candidate gate has 4 outputs, got \(gateInit.count)")
        }
        self.init(kind: kind, features: features, gate: try c.decodeIfPresent(Gate.self, forKey: .gate) ?? .state,
                  nextFeatures: next, followersPerItem: try c.decodeIfPresent(Int.self, forKey: .followersPerItem) ?? 100,
                  transitionSplit: try c.decodeIfPresent(String.self, forKey: .transitionSplit),
                  transitionChecksum: try sum.map { s in
                      guard let v = UInt64(s, radix: 16) else { throw DecodingError.dataCorruptedError(forKey: .transitionChecksum, in: c, debugDescription: "bad checksum \(s)") }
                      return v
                  }, nextGateInit: gateInit,
                  nextSessionSource: try c.decodeIfPresent(SessionSource.self, forKey: .nextSessionSource) ?? .transitions)
    }

    /// String metadata for model files (e.g. safetensors' `__metadata__`): `head`, and for
    /// the repeat head `repeat_features` (comma list) and `repeat_gate`.
    public var metadata: [String: String] {
        guard isRepeat else { return ["head": kind.rawValue] }
        var m = ["head": kind.rawValue,
                 "repeat_features": PrefixFeature.allCases.filter { features[$0.rawValue] }.map(\.name).joined(separator: ","),
                 "repeat_gate": gate.rawValue]
        if hasNext {
            m["next_features"] = NextFeature.allCases.filter { nextFeatures[$0.rawValue] }.map(\.name).joined(separator: ",")
            m["next_followers"] = "\(followersPerItem)"
            if let s = transitionSplit { m["next_table_split"] = s }
            if let c = transitionChecksum { m["next_table_checksum"] = String(format: "%016llx", c) }
            if nextGateInit != [0, 0, 0, 0] { m["next_gate_init"] = nextGateInit.map { "\($0)" }.joined(separator: ",") }
            if nextSessionSource != .transitions { m["next_session_source"] = nextSessionSource.rawValue }
        }
        return m
    }

    /// Reads `metadata`; a file without a `head` entry holds the plain head.
    public init(metadata: [String: String]) throws {
        guard let k = metadata["head"] else { self = .plain; return }
        guard let kind = Kind(rawValue: k) else { throw IRNError("unknown policy head '\(k)' in the model's metadata (known: plain, repeat, repeat-next)") }
        guard kind != .plain else { self = .plain; return }
        var features = [true, true, true, true]
        if let list = metadata["repeat_features"] {
            features = [false, false, false, false]
            for name in list.split(separator: ",") {
                guard let f = PrefixFeature(name: String(name)) else { throw IRNError("unknown prefix feature '\(name)' in the model's metadata") }
                features[f.rawValue] = true
            }
        }
        let gate = try metadata["repeat_gate"].map { g in
            guard let v = Gate(rawValue: g) else { throw IRNError("unknown repeat gate '\(g)' in the model's metadata (known: state, constant)") }
            return v
        } ?? .state
        var next = [true, true, true, true]
        if let list = metadata["next_features"] {
            next = [false, false, false, false]
            for name in list.split(separator: ",") {
                guard let f = NextFeature(name: String(name)) else { throw IRNError("unknown candidate feature '\(name)' in the model's metadata") }
                next[f.rawValue] = true
            }
        }
        var sum: UInt64?
        if let s = metadata["next_table_checksum"] {
            guard let v = UInt64(s, radix: 16) else { throw IRNError("bad transition table checksum '\(s)' in the model's metadata") }
            sum = v
        }
        let L = try metadata["next_followers"].map { s in
            guard let v = Int(s), v > 0 else { throw IRNError("bad next_followers '\(s)' in the model's metadata") }
            return v
        } ?? 100
        var gateInit: [Float] = [0, 0, 0, 0]
        if let text = metadata["next_gate_init"] {
            let v = text.split(separator: ",").compactMap { Float(String($0)) }
            guard v.count == 4 else { throw IRNError("bad next_gate_init '\(text)' in the model's metadata") }
            gateInit = v
        }
        let source = try metadata["next_session_source"].map { v in
            guard let s = SessionSource(rawValue: v) else { throw IRNError("unknown next_session_source '\(v)' in the model's metadata (known: transitions, cooccurrence)") }
            return s
        } ?? .transitions
        self.init(kind: kind, features: features, gate: gate, nextFeatures: next, followersPerItem: L,
                  transitionSplit: metadata["next_table_split"], transitionChecksum: sum, nextGateInit: gateInit,
                  nextSessionSource: source)
    }

    /// Throws, naming both, when a model with this head is used with `requested` flags
    /// (evaluation and serving must score with the head the model was trained with).
    public func checkMatches(requested: PolicyHead) throws {
        guard self != requested else { return }
        throw IRNError("the model has policy head \(self), but \(requested) was asked for: pass the model's --head/--repeat-features/--repeat-gate flags (or none)")
    }

    /// Lanes of the used features are 1, the others 0.
    public var featureLanes: SIMD4<Float> {
        SIMD4(features[0] ? 1 : 0, features[1] ? 1 : 0, features[2] ? 1 : 0, features[3] ? 1 : 0)
    }
}

/// The gate of the repeat head, shared by training and scoring so both compute the same
/// numbers: g(h) = W_g h + b_g (W_g is [4 x H], row f gives output f), or b_g alone when the
/// gate is constant.
public enum RepeatGate {
    @inline(__always)
    public static func value(_ p: ParameterPointers, head: PolicyHead, h: UnsafePointer<Float>) -> SIMD4<Float> {
        guard let wg = p.repeatGateWeights, let bg = p.repeatGateBias else {
            preconditionFailure("the repeat head needs head.gate tensors")
        }
        return affine(wg, bg, state: head.gate == .state, hidden: p.shape.hidden, h: h)
    }

    /// The repeat-next head's candidate gate g_n(h) = W_n h + b_n (b_n alone when the gate is
    /// constant), computed as `value`.
    @inline(__always)
    public static func nextValue(_ p: ParameterPointers, head: PolicyHead, h: UnsafePointer<Float>) -> SIMD4<Float> {
        guard let wn = p.nextGateWeights, let bn = p.nextGateBias else {
            preconditionFailure("the repeat-next head needs head.next_gate tensors")
        }
        return affine(wn, bn, state: head.gate == .state, hidden: p.shape.hidden, h: h)
    }

    /// b + W h for a [4 x H] W (b alone without the state).
    @inline(__always)
    private static func affine(_ w: UnsafePointer<Float>, _ b: UnsafePointer<Float>, state: Bool, hidden H: Int,
                               h: UnsafePointer<Float>) -> SIMD4<Float> {
        var g = SIMD4<Float>(b[0], b[1], b[2], b[3])
        if state {
            for f in 0..<4 { g[f] += FastMath.dot(w + f * H, h, count: H) }
        }
        return g
    }
}
