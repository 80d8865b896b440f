import IRNAgents
import IRNEvaluation
import IRNNumerics

/// One immutable model snapshot being served. The batcher reads the current snapshot at the
/// start of each batch, so a swap (follow mode) is atomic: a batch sees one version only.
public final class ServingModel: Sendable {
    public enum Kind: Sendable {
        /// An LSTM actor-critic: served by the batched path (one sgemm per batch).
        case agent(NetworkParameters)
        /// Any other model the evaluator knows (baselines), through its session scorer.
        case generic(any Recommender)
    }

    public let kind: Kind
    /// Weight version (follow mode: the cluster's step; a model file: 0).
    public let version: UInt64
    /// Human-readable name, e.g. "irn-p, repeat head" or "baseline".
    public let name: String

    /// How an agent's logits are computed for serving.
    public enum Scoring: String, Sendable, CaseIterable {
        /// A bf16 first pass over all items with an error bound, exact float32 scores for the
        /// items that can reach the top K (needs AVX512-BF16; elsewhere: sgemm).
        case pruned
        /// Every logit in float32 by one sgemm per batch (sgemv for one or two rows).
        case sgemm
    }

    /// Agents: W_p transposed to H x N, so the batch product reads it without a transpose
    /// (OpenBLAS then packs it with plain copies instead of a strided transposing copy).
    /// Nil when the pruned path serves.
    let policyTransposed: [Float]?
    /// Agents on the pruned path: the packed bf16 W_p and the row norms.
    let pruned: PrunedPolicy?

    /// The scoring actually used (`.pruned` asked on a CPU without AVX512-BF16: `.sgemm`).
    public var scoring: Scoring { pruned != nil ? .pruned : .sgemm }

    public init(kind: Kind, version: UInt64, name: String, scoring: Scoring = .pruned) {
        self.kind = kind
        self.version = version
        self.name = name
        if case .agent(let p) = kind {
            if scoring == .pruned && PrunedPolicy.supported {
                pruned = PrunedPolicy(p)
                policyTransposed = nil
            } else {
                pruned = nil
                policyTransposed = Self.transposePolicy(p, into: nil, rows: nil)
            }
        } else {
            policyTransposed = nil
            pruned = nil
        }
    }

    /// Follow mode: the next snapshot, re-transposing only the W_p rows that changed since
    /// `previous` (nil: all of them), so a patch of a few items costs a few columns.
    init(agent p: NetworkParameters, version: UInt64, name: String, previous: ServingModel?, changedPolicyRows: Set<Int32>?,
         scoring: Scoring = .pruned) {
        kind = .agent(p)
        self.version = version
        self.name = name
        let sameShape: Bool
        if case .agent(let old)? = previous?.kind, old.shape == p.shape { sameShape = true } else { sameShape = false }
        if scoring == .pruned, let prevPruned = previous?.pruned {
            // The bf16 copy and the norms change exactly where W_p changed.
            pruned = PrunedPolicy(p, previous: sameShape ? prevPruned : nil, changedRows: sameShape ? changedPolicyRows : nil)
            policyTransposed = nil
        } else if let prev = previous?.policyTransposed, sameShape {
            pruned = nil
            policyTransposed = Self.transposePolicy(p, into: prev, rows: changedPolicyRows)
        } else if scoring == .pruned && PrunedPolicy.supported {
            pruned = PrunedPolicy(p)
            policyTransposed = nil
        } else {
            pruned = nil
            policyTransposed = Self.transposePolicy(p, into: nil, rows: nil)
        }
    }

    /// W_p (N x H) as H x N; `rows` nil: all (in 32 x 32 tiles, both sides stay in cache).
    static func transposePolicy(_ p: NetworkParameters, into previous: [Float]?, rows: Set<Int32>?) -> [Float] {
        let N = p.shape.items, H = p.shape.hidden
        var t = previous ?? [Float](repeating: 0, count: N * H)
        if let rows, rows.isEmpty { return t }
        p.tensors[ParameterGroup.policyWeights.rawValue].withUnsafeBufferPointer { w in
            t.withUnsafeMutableBufferPointer { o in
                if let rows, previous != nil {
                    for r in rows { let j = Int(r); for i in 0..<H { o[i * N + j] = w[j * H + i] } }
                    return
                }
                for j0 in stride(from: 0, to: N, by: 32) {
                    for i0 in stride(from: 0, to: H, by: 32) {
                        for j in j0..<min(j0 + 32, N) {
                            for i in i0..<min(i0 + 32, H) { o[i * N + j] = w[j * H + i] }
                        }
                    }
                }
            }
        }
        return t
    }

    /// Wraps a Recommender; agents get the batched path.
    public convenience init(recommender: any Recommender, version: UInt64 = 0, name: String, scoring: Scoring = .pruned) {
        if let a = recommender as? AgentRecommender {
            self.init(kind: .agent(a.parameters), version: version, name: name, scoring: scoring)
        } else {
            self.init(kind: .generic(recommender), version: version, name: name)
        }
    }

    public var itemCount: Int {
        switch kind {
        case .agent(let p): return p.shape.items
        case .generic(let r): return r.itemCount
        }
    }

    /// True when scores include the repeat head's prefix term (reported per item).
    public var hasRepeatHead: Bool {
        if case .agent(let p) = kind { return p.shape.head.isRepeat }
        return false
    }

    /// Session states stay valid across snapshots with the same key (same network shape);
    /// a generic model's scorers belong to that model object only.
    var stateKey: String {
        switch kind {
        case .agent(let p): return "agent:\(p.shape.items)x\(p.shape.hidden):\(p.shape.head)"
        case .generic(let r): return "generic:\(ObjectIdentifier(r as AnyObject).hashValue)"
        }
    }
}
