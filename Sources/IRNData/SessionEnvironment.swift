import IRNSupport

/// Session-parallel mini-batches (docs/algorithm.md#environment, after Hidasi et al. 2016): `slots`
/// lanes, each replaying one session. A step gives every active slot its input item
/// (event p) and the logged next event (p + 1) as target; a session of length L yields
/// L - 1 steps. When a slot's session is used up it takes the next session of `order` and
/// raises `reset` (its recurrent state must be zeroed before feeding), or goes idle.
public final class SessionEnvironment {
    public let sessions: SessionSet
    public let order: [Int]
    public let slots: Int

    public private(set) var input: [Int32]
    public private(set) var target: [Int32]
    public private(set) var targetType: [UInt8]
    public private(set) var reset: [Bool]
    public private(set) var active: [Bool]
    public private(set) var session: [Int32]
    public private(set) var position: [Int32]

    private var next = 0
    private var started = 0
    private var steps = 0
    private var begun = false

    public var sessionsStarted: Int { started }
    public var stepsTaken: Int { steps }
    /// Index into `order` of the next session to hand out.
    public var nextOrderIndex: Int { next }

    public init(sessions: SessionSet, order: [Int], slots: Int) {
        precondition(slots >= 1, "at least one slot")
        precondition(order.allSatisfy { $0 >= 0 && $0 < sessions.count }, "order holds a session index out of range")
        self.sessions = sessions
        self.order = order
        self.slots = slots
        input = [Int32](repeating: -1, count: slots)
        target = [Int32](repeating: -1, count: slots)
        targetType = [UInt8](repeating: 0, count: slots)
        reset = [Bool](repeating: false, count: slots)
        active = [Bool](repeating: false, count: slots)
        session = [Int32](repeating: -1, count: slots)
        position = [Int32](repeating: 0, count: slots)
    }

    /// A permutation of `indices` fixed by (seed, epoch): each epoch its own shuffle.
    public static func shuffledOrder(_ indices: [Int], seed: UInt64, epoch: Int) -> [Int] {
        var a = indices
        var rng = RandomSource(seed: seed, stream: UInt64(bitPattern: Int64(epoch)) &+ 0x5E55_1011)
        if a.count > 1 {
            for i in stride(from: a.count - 1, to: 0, by: -1) {
                let j = rng.nextInt(below: i + 1)
                a.swapAt(i, j)
            }
        }
        return a
    }

    /// Takes the next session with at least two events (shorter ones yield no step).
    private func takeNext(slot k: Int) -> Bool {
        while next < order.count {
            let s = order[next]
            next += 1
            if sessions.length(of: s) >= 2 {
                session[k] = Int32(s)
                position[k] = 0
                started += 1
                return true
            }
        }
        return false
    }

    /// Advances one environment step; returns false once no slot is active (epoch over).
    @discardableResult
    public func step() -> Bool {
        var any = false
        for k in 0..<slots {
            var fresh = false
            if begun && active[k] && Int(position[k]) + 2 < sessions.length(of: Int(session[k])) {
                position[k] += 1
            } else if (!begun || active[k]) && takeNext(slot: k) {
                fresh = true
            } else {
                active[k] = false
                reset[k] = false
                input[k] = -1
                target[k] = -1
                targetType[k] = 0
                session[k] = -1
                position[k] = 0
                continue
            }
            let e = sessions.offsets[Int(session[k])] + Int(position[k])
            active[k] = true
            reset[k] = fresh
            input[k] = sessions.items[e]
            target[k] = sessions.items[e + 1]
            targetType[k] = sessions.types[e + 1]
            any = true
        }
        begun = true
        if any { steps += 1 }
        return any
    }
}

extension PreparedDataset {
    /// The sessions of `set` in the given shards, shuffled for one epoch by (seed, epoch):
    /// what an actor owning those shards replays.
    public func epochOrder(of set: SessionSet, shards: some Sequence<Int>, seed: UInt64, epoch: Int) -> [Int] {
        SessionEnvironment.shuffledOrder(sessionIndices(of: set, shards: shards), seed: seed, epoch: epoch)
    }
}
