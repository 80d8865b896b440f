/// Rewards of the MDP (docs/algorithm.md#rewards-and-reward-density): a purchase earns `purchaseReward` (5), a click
/// `clickReward` (1 for the -F variants, 0 for -P). With density d < 1 each purchase event
/// stays a purchase with probability d; the draw is a hash of (seed, event index), so it
/// is the same whichever slot or actor replays the event.
public struct RewardModel: Sendable {
    public let purchaseReward: Float
    public let clickReward: Float
    public let density: Double
    public let seed: UInt64

    public init(purchaseReward: Float = 5, clickReward: Float, density: Double = 1, seed: UInt64) {
        precondition(density >= 0 && density <= 1, "density must be in [0, 1]")
        self.purchaseReward = purchaseReward
        self.clickReward = clickReward
        self.density = density
        self.seed = seed
    }

    /// Uniform in [0, 1) from (seed, event index) by a SplitMix64 finaliser.
    @inline(__always)
    static func uniform(seed: UInt64, index: Int) -> Double {
        @inline(__always) func mix(_ x: UInt64) -> UInt64 {
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        // Hash the seed first so that (seed, index) pairs never alias along a diagonal.
        let z = mix(mix(seed &+ 0x632B_E59B_D9B4_E019) &+ UInt64(bitPattern: Int64(index)) &* 0x9E37_79B9_7F4A_7C15)
        return Double(z >> 11) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// Whether event `eventIndex` (index into the session set's event arrays) of type `type`
    /// counts as a purchase after the density draw.
    @inline(__always)
    public func isPurchase(eventIndex: Int, type: UInt8) -> Bool {
        guard type == EventType.purchase.rawValue else { return false }
        if density >= 1 { return true }
        if density <= 0 { return false }
        return RewardModel.uniform(seed: seed, index: eventIndex) < density
    }

    @inline(__always)
    public func reward(eventIndex: Int, type: UInt8) -> Float {
        isPurchase(eventIndex: eventIndex, type: type) ? purchaseReward : clickReward
    }
}
