import Foundation

/// Which policy head the network has. `plain` is the paper's, z = W_p h + b_p. `repeat` is
/// REPEAT.md's repeat-aware head: for the items i of the current session prefix,
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
