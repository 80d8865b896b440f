import Foundation
import IRNSupport

/// Which policy head the network has. `plain` is the paper's, z = W_p h + b_p. `repeat` is
/// The repeat-aware head (docs/algorithm.md#repeat-head): for the items i of the current session prefix,
///   z_i = w_i . h + b_i + g(h) . phi_i(s),   g(h) = W_g h + b_g (4 outputs),
/// with the four prefix features of `PrefixTracker`; every other item keeps the plain logit.
/// Imagination and PRN use the base logits w . h + b only.
public struct PolicyHead: Sendable, Hashable, Codable, CustomStringConvertible {
    public enum Kind: String, CaseIterable, Sendable, Codable {
        case plain
        case repeatAware = "repeat"
    }
    /// `state`: g(h) = W_g h + b_g (the head). `constant`: g = b_g, W_g unused and kept at 0
    /// (the "gate fixed at constants" ablation).
    public enum Gate: String, CaseIterable, Sendable, Codable { case state, constant }

    public private(set) var kind: Kind
    /// Which of the four prefix features are used (`PrefixFeature` order); an unused
    /// feature is 0 for every item (ablations). All true for the plain head.
    public private(set) var features: [Bool]
    public private(set) var gate: Gate

    public static let plain = PolicyHead(kind: .plain)

    /// The plain head ignores `features` and `gate` (so every plain head compares equal).
    public init(kind: Kind, features: [Bool] = [true, true, true, true], gate: Gate = .state) {
        precondition(features.count == PrefixFeature.allCases.count, "the repeat head has \(PrefixFeature.allCases.count) prefix features")
        self.kind = kind
        self.features = kind == .plain ? [true, true, true, true] : features
        self.gate = kind == .plain ? .state : gate
    }

    /// The repeat-aware head with the features and gate given.
    public static func repeatAware(features: [Bool] = [true, true, true, true], gate: Gate = .state) -> PolicyHead {
        PolicyHead(kind: .repeatAware, features: features, gate: gate)
    }

    public var isRepeat: Bool { kind == .repeatAware }

    /// E.g. "plain", "repeat (features session,count,recency,last; gate state)".
    public var description: String {
        guard isRepeat else { return kind.rawValue }
        let names = PrefixFeature.allCases.filter { features[$0.rawValue] }.map(\.name)
        return "repeat (features \(names.isEmpty ? "none" : names.joined(separator: ",")); gate \(gate.rawValue))"
    }

    private enum CodingKeys: String, CodingKey { case kind, features, gate }
    /// Decodes through the checking initialiser (a plain head ignores the other fields).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let kind = try c.decode(Kind.self, forKey: .kind)
        let features = try c.decodeIfPresent([Bool].self, forKey: .features) ?? [true, true, true, true]
        guard features.count == 4 else {
            throw DecodingError.dataCorruptedError(forKey: .features, in: c, debugDescription: "the repeat head has 4 prefix features, got \(features.count)")
        }
        self.init(kind: kind, features: features, gate: try c.decodeIfPresent(Gate.self, forKey: .gate) ?? .state)
    }

    /// String metadata for model files (e.g. safetensors' `__metadata__`): `head`, and for
    /// the repeat head `repeat_features` (comma list) and `repeat_gate`.
    public var metadata: [String: String] {
        guard isRepeat else { return ["head": kind.rawValue] }
        return ["head": kind.rawValue,
                "repeat_features": PrefixFeature.allCases.filter { features[$0.rawValue] }.map(\.name).joined(separator: ","),
                "repeat_gate": gate.rawValue]
    }

    /// Reads `metadata`; a file without a `head` entry holds the plain head.
    public init(metadata: [String: String]) throws {
        guard let k = metadata["head"] else { self = .plain; return }
        guard let kind = Kind(rawValue: k) else { throw IRNError("unknown policy head '\(k)' in the model's metadata (known: plain, repeat)") }
        guard kind == .repeatAware else { self = .plain; return }
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
        self.init(kind: kind, features: features, gate: gate)
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
        var g = SIMD4<Float>(bg[0], bg[1], bg[2], bg[3])
        if head.gate == .state {
            let H = p.shape.hidden
            for f in 0..<4 { g[f] += FastMath.dot(wg + f * H, h, count: H) }
        }
        return g
    }
}
