import ArgumentParser
import IRNAgents
import IRNNumerics

extension PolicyHead.Kind: ExpressibleByArgument {}
extension PolicyHead.Gate: ExpressibleByArgument {}
extension PolicyHead.SessionSource: ExpressibleByArgument {}

/// The policy-head flags (docs/algorithm.md#repeat-head), shared by every command that builds an agent.
struct HeadOptions: ParsableArguments {
    @Option(help: "Policy head: plain (the paper's), repeat (ours, docs/algorithm.md: the session's own items get g(h) . phi added to their logits, phi = 4 prefix features, g(h) = W_g h + b_g) or repeat-next (repeat, plus items reached by the training split's transitions from the session's items get g_n(h) . psi).")
    var head: PolicyHead.Kind = .plain
    @Option(name: .customLong("repeat-features"), help: "Repeat head: prefix features used, comma-separated from session,count,recency,last (default all four; leave some out for ablations).")
    var repeatFeatures: String?
    @Option(name: .customLong("repeat-gate"), help: "Repeat head: state (g(h) = W_g h + b_g) or constant (g = b_g, ablation).")
    var repeatGate: PolicyHead.Gate?
    @Option(name: .customLong("repeat-gate-init"), help: "Repeat head: initial b_g, four comma-separated numbers in feature order, e.g. 4,2,1,0.5 (default 0,0,0,0).")
    var repeatGateInit: String?
    @Option(name: .customLong("next-features"), help: "Repeat-next head: candidate features used, comma-separated from last,share,session,follow (default all four; leave some out for ablations).")
    var nextFeatures: String?
    @Option(name: .customLong("next-followers"), help: "Repeat-next head: followers kept per item in the transition table (L).")
    var nextFollowers: Int?
    @Option(name: .customLong("next-gate-init"), help: "Repeat-next head: initial b_n, four comma-separated numbers in candidate-feature order (default 0,0,0,0: training starts from the repeat head).")
    var nextGateInit: String?
    @Option(name: .customLong("next-session-source"), help: "Repeat-next head: what the session candidate feature sums over the session's items: transitions (j came right after i; default) or cooccurrence (i and j in one training session, any order; the candidates then also include each session item's top-L co-occurring items).")
    var nextSessionSource: PolicyHead.SessionSource?

    /// Sets the head of `config`; flags of the repeat head without `--head repeat` are refused.
    func apply(to config: inout AgentConfig) throws {
        if head != .repeatNext, nextFeatures != nil || nextFollowers != nil || nextGateInit != nil || nextSessionSource != nil {
            throw ValidationError("--next-features, --next-followers, --next-gate-init and --next-session-source need --head repeat-next")
        }
        guard head != .plain else {
            if repeatFeatures != nil || repeatGate != nil || repeatGateInit != nil {
                throw ValidationError("--repeat-features, --repeat-gate and --repeat-gate-init need --head repeat or repeat-next")
            }
            config.head = .plain
            return
        }
        var features = [true, true, true, true]
        if let list = repeatFeatures {
            features = [false, false, false, false]
            for name in list.split(separator: ",", omittingEmptySubsequences: false).map({ $0.trimmingCharacters(in: .whitespaces) }) {
                guard let f = PrefixFeature(name: name) else {
                    throw ValidationError("--repeat-features: unknown feature '\(name)' (use session, count, recency, last)")
                }
                features[f.rawValue] = true
            }
        }
        if head == .repeatNext {
            var next = [true, true, true, true]
            if let list = nextFeatures {
                next = [false, false, false, false]
                for name in list.split(separator: ",", omittingEmptySubsequences: false).map({ $0.trimmingCharacters(in: .whitespaces) }) {
                    guard let f = NextFeature(name: name) else {
                        throw ValidationError("--next-features: unknown feature '\(name)' (use last, share, session, follow)")
                    }
                    next[f.rawValue] = true
                }
            }
            let L = nextFollowers ?? 100
            guard L >= 1 else { throw ValidationError("--next-followers must be >= 1, got \(L)") }
            var gateInit: [Float] = [0, 0, 0, 0]
            if let text = nextGateInit {
                let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { Float($0.trimmingCharacters(in: .whitespaces)) }
                guard parts.count == 4, parts.allSatisfy({ $0 != nil && $0!.isFinite }) else {
                    throw ValidationError("--next-gate-init needs four comma-separated numbers (last,share,session,follow), got '\(text)'")
                }
                gateInit = parts.map { $0! }
            }
            config.head = .repeatNext(features: features, gate: repeatGate ?? .state, nextFeatures: next, followersPerItem: L, nextGateInit: gateInit,
                                         nextSessionSource: nextSessionSource ?? .transitions)
        } else {
            config.head = .repeatAware(features: features, gate: repeatGate ?? .state)
        }
        if let text = repeatGateInit {
            let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { Float($0.trimmingCharacters(in: .whitespaces)) }
            guard parts.count == 4, parts.allSatisfy({ $0 != nil && $0!.isFinite }) else {
                throw ValidationError("--repeat-gate-init needs four comma-separated numbers (session,count,recency,last), got '\(text)'")
            }
            config.repeatGateInit = parts.map { $0! }
        }
    }
}
