/// The loss terms of one window, addressed by `index = step * slots + slot` (the state
/// after feeding that step's input). The loss is
///   L = sum_policy [ -coefficient * log softmax(z)[action] - entropy * H(softmax(z)) ]
///       (with the repeat head, z_i = w_i . h + b_i + g(h) . phi_i for the term's prefix items)
///     + sum_value  weight * 0.5 * (target - V)^2
///     + sum_logit  weight * (z[item] - 1)^2
///     + sum_branch weight * (z_branch[item] - 1)^2
/// Coefficients carry any advantage and reduction (mean/sum) already: the network only
/// differentiates what it is given.
public struct WindowLosses: Sendable {
    public struct Policy: Sendable {
        public var index: Int32, action: Int32, coefficient: Float, entropy: Float
        /// Whether the row's gradient stops at the repeat heads' gate parameters (W_g, b_g,
        /// W_n, b_n): nothing reaches the base logits or h (`--click-scope gates`).
        public var gatesOnly: Bool
        public init(index: Int32, action: Int32, coefficient: Float, entropy: Float = 0, gatesOnly: Bool = false) {
            self.index = index; self.action = action; self.coefficient = coefficient; self.entropy = entropy
            self.gatesOnly = gatesOnly
        }
    }
    public struct Value: Sendable {
        public var index: Int32, target: Float, weight: Float
        public init(index: Int32, target: Float, weight: Float) { self.index = index; self.target = target; self.weight = weight }
    }
    public struct Logit: Sendable {
        public var index: Int32, item: Int32, weight: Float
        public init(index: Int32, item: Int32, weight: Float) { self.index = index; self.item = item; self.weight = weight }
    }

    /// Policy-gradient terms (each needs a full softmax row).
    public var policy: [Policy] = []
    /// Repeat head only: policy term r's session prefix is items
    /// `policyPrefixItems[policyPrefixOffsets[r] ..< policyPrefixOffsets[r + 1]]` with 4 features
    /// each in `policyPrefixFeatures` (see `PrefixTracker`); offsets hold policy.count + 1 entries.
    public var policyPrefixOffsets: [Int32] = []
    public var policyPrefixItems: [Int32] = []
    public var policyPrefixFeatures: [Float] = []
    /// Repeat-next head only: policy term r's reached candidates outside its prefix, laid out
    /// as the prefix lists (4 `NextFeature`s each); offsets hold policy.count + 1 entries.
    public var policyNextOffsets: [Int32] = []
    public var policyNextItems: [Int32] = []
    public var policyNextFeatures: [Float] = []
    /// Critic terms.
    public var value: [Value] = []
    /// Single-logit squared errors on window states (PRN-P's reconstruction).
    public var logit: [Logit] = []
    /// Imagined branches: branch b forks from window state `branchRoots[b]` and is fed
    /// `branchItems[b * branchDepth + tau]` for tau = 0..<branchDepth; after each feed the
    /// logit of that same item has error weight `branchWeights[b * branchDepth + tau]`.
    public var branchDepth: Int = 0
    public var branchRoots: [Int32] = []
    public var branchItems: [Int32] = []
    public var branchWeights: [Float] = []

    public init() {}

    public var branchCount: Int { branchRoots.count }

    /// Appends slot m's current prefix (items and features) as the next policy term's, after
    /// the policy terms' prefixes so far (starting the offsets when empty).
    public mutating func appendPolicyPrefix(from tracker: PrefixTracker, slot m: Int) {
        if policyPrefixOffsets.isEmpty { policyPrefixOffsets.append(0) }
        tracker.append(slot: m, items: &policyPrefixItems, features: &policyPrefixFeatures)
        policyPrefixOffsets.append(Int32(policyPrefixItems.count))
    }

    /// Appends slot m's current candidates (repeat-next head) as the next policy term's.
    public mutating func appendPolicyNext(from tracker: inout PrefixTracker, slot m: Int) {
        if policyNextOffsets.isEmpty { policyNextOffsets.append(0) }
        tracker.appendNext(slot: m, items: &policyNextItems, features: &policyNextFeatures)
        policyNextOffsets.append(Int32(policyNextItems.count))
    }

    /// Calls `body` with the policy terms' candidate offsets, items and features.
    func withPolicyNext<R>(_ body: (UnsafeBufferPointer<Int32>, UnsafeBufferPointer<Int32>, UnsafeBufferPointer<Float>) -> R) -> R {
        policyNextOffsets.withUnsafeBufferPointer { off in
            policyNextItems.withUnsafeBufferPointer { items in
                policyNextFeatures.withUnsafeBufferPointer { phi in body(off, items, phi) }
            }
        }
    }

    /// Calls `body` with the policy terms' prefix offsets, items and features.
    func withPolicyPrefixes<R>(_ body: (UnsafeBufferPointer<Int32>, UnsafeBufferPointer<Int32>, UnsafeBufferPointer<Float>) -> R) -> R {
        policyPrefixOffsets.withUnsafeBufferPointer { off in
            policyPrefixItems.withUnsafeBufferPointer { items in
                policyPrefixFeatures.withUnsafeBufferPointer { phi in body(off, items, phi) }
            }
        }
    }

    /// Empties every list, keeping capacity.
    public mutating func removeAll() {
        policy.removeAll(keepingCapacity: true)
        policyPrefixOffsets.removeAll(keepingCapacity: true)
        policyPrefixItems.removeAll(keepingCapacity: true)
        policyPrefixFeatures.removeAll(keepingCapacity: true)
        policyNextOffsets.removeAll(keepingCapacity: true)
        policyNextItems.removeAll(keepingCapacity: true)
        policyNextFeatures.removeAll(keepingCapacity: true)
        value.removeAll(keepingCapacity: true)
        logit.removeAll(keepingCapacity: true)
        branchRoots.removeAll(keepingCapacity: true)
        branchItems.removeAll(keepingCapacity: true)
        branchWeights.removeAll(keepingCapacity: true)
    }
}

/// The value of each part of the loss (as defined in `WindowLosses`) at the current parameters.
public struct LossBreakdown: Sendable, Equatable {
    /// sum of -coefficient * log pi(action)
    public var policy: Double = 0
    /// sum of -entropy * H(pi)
    public var entropy: Double = 0
    /// sum of weight * 0.5 * (target - V)^2
    public var value: Double = 0
    /// sum of weighted squared single-logit errors on window states
    public var logit: Double = 0
    /// sum of weighted squared single-logit errors on imagined branches
    public var branch: Double = 0
    public init() {}
    public var total: Double { policy + entropy + value + logit + branch }
}
