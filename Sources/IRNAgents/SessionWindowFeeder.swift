import IRNData
import IRNSupport

/// Session-parallel mini-batches (Hidasi et al. 2016) as rollout windows: M slots each hold
/// one session; every step each slot feeds its current item and the next logged event is
/// the target. A finished session is replaced by the next one in `order`, with a reset.
/// Reward density d: each purchase event stays a purchase with probability d (decided once
/// per event, seeded, so an event looks the same as a lookahead and later as a target).
public struct SessionWindowFeeder: Sendable {
    public let sessions: SessionSet
    public let slots: Int
    public let steps: Int
    public let lookahead: Int
    public let purchaseReward: Float
    public let clickReward: Float
    private var order: [Int]
    private var nextSession = 0
    private var slotSession: [Int]
    private var slotPosition: [Int]
    private var purchase: [Bool]

    /// `order`: session indices in the order slots take them (nil: 0..<count). Sessions with
    /// fewer than 2 events are skipped.
    public init(sessions: SessionSet, order: [Int]? = nil, slots: Int, steps: Int, lookahead: Int,
                purchaseReward: Float, clickReward: Float, density: Double = 1, seed: UInt64) {
        self.sessions = sessions
        self.slots = slots
        self.steps = steps
        self.lookahead = lookahead
        self.purchaseReward = purchaseReward
        self.clickReward = clickReward
        self.order = (order ?? Array(0..<sessions.count)).filter { sessions.length(of: $0) >= 2 }
        slotSession = [Int](repeating: -1, count: slots)
        slotPosition = [Int](repeating: 0, count: slots)
        var rng = RandomSource(seed: seed)
        purchase = sessions.types.map { t in
            guard t == EventType.purchase.rawValue else { return false }
            return density >= 1 || rng.nextDouble() < density
        }
    }

    /// A feeder configured from an agent's rewards and sizes.
    public init(sessions: SessionSet, order: [Int]? = nil, config: AgentConfig, density: Double = 1, seed: UInt64) {
        self.init(sessions: sessions, order: order, slots: config.slots, steps: config.window, lookahead: config.nStep,
                  purchaseReward: config.purchaseReward, clickReward: config.clickReward, density: density, seed: seed)
    }

    /// True once every session has been fed to its end.
    public var finished: Bool { nextSession >= order.count && slotSession.allSatisfy { $0 < 0 } }

    /// Whether event `e` (global index) counts as a purchase after reward density.
    public func isPurchase(event e: Int) -> Bool { purchase[e] }

    /// Fills the next window; false when no slot had anything left to feed.
    public mutating func next(into w: inout RolloutWindow) -> Bool {
        precondition(w.steps == steps && w.slots == slots && w.lookahead == lookahead)
        w.clear()
        var any = false
        for t in 0..<steps {
            for m in 0..<slots {
                let i = t * slots + m
                var s = slotSession[m]
                if s >= 0 && slotPosition[m] + 1 >= sessions.length(of: s) { s = -1; slotSession[m] = -1 }
                if s < 0 {
                    guard nextSession < order.count else { continue }
                    s = order[nextSession]
                    nextSession += 1
                    slotSession[m] = s
                    slotPosition[m] = 0
                    w.resets[i] = true
                }
                let base = sessions.offsets[s] + slotPosition[m]
                w.inputs[i] = sessions.items[base]
                w.targets[i] = sessions.items[base + 1]
                w.targetIsPurchase[i] = purchase[base + 1]
                w.rewards[i] = purchase[base + 1] ? purchaseReward : clickReward
                w.active[i] = true
                slotPosition[m] += 1
                any = true
            }
        }
        // Events after the last target, for n-step returns.
        for m in 0..<slots where w.active[(steps - 1) * slots + m] {
            let s = slotSession[m]
            let end = sessions.offsets[s + 1]
            // The last target is at position slotPosition (already advanced past the input).
            for j in 0..<lookahead {
                let e = sessions.offsets[s] + slotPosition[m] + 1 + j
                if e >= end { break }
                w.lookaheadItems[m * lookahead + j] = sessions.items[e]
                w.lookaheadRewards[m * lookahead + j] = purchase[e] ? purchaseReward : clickReward
            }
        }
        // Sessions that just ended free their slot for the next window.
        for m in 0..<slots where slotSession[m] >= 0 && slotPosition[m] + 1 >= sessions.length(of: slotSession[m]) {
            slotSession[m] = -1
        }
        return any
    }
}
