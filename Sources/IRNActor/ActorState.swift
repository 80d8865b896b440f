import IRNWire

/// Where an actor stands with the server. Everything a join establishes lives in `Session`, so
/// leaving a server run (rejoin) or meeting a new one (Welcome) is a single assignment.
enum ActorState {
    /// Saying hello (every `helloRetry`) until a Welcome arrives. `knownRunId` is the server run
    /// we were last joined to (0: none); the Hello carries it so the server can tell a rejoin.
    case joining(lastHello: Double, knownRunId: UInt64)
    /// Joined to the server run `Session.serverRunId`.
    case joined(Session)

    /// A `lastHello` long enough ago that the loop says hello at once.
    static let longAgo = -1e9
    static let initial = ActorState.joining(lastHello: longAgo, knownRunId: 0)

    /// The server run a Hello should name.
    var knownRunId: UInt64 {
        switch self {
        case .joining(_, let id): return id
        case .joined(let s): return s.serverRunId
        }
    }
}

/// One membership in one server run: made from its Welcome, dropped when we leave it.
struct Session {
    let serverRunId: UInt64
    /// For the silence timeout: any message from this run counts.
    var lastHeard: Double
    /// 0 on joining: the first heartbeat goes out at once.
    var lastHeartbeat = 0.0
    var lease: Lease?
    /// A lease request is unanswered: don't send another.
    var awaitingGrant = false
    /// A weights request is out: broadcasts wait in `buffered` until the copy (a Welcome) comes.
    var awaitingSync = false
    /// Broadcasts the replica cannot take yet (after a gap, or a target ahead of our weights),
    /// replayed after the next Welcome.
    var buffered: [WireEnvelope] = []
    /// Pushes not acknowledged yet, and when the oldest of them went out.
    var inFlight = 0
    var oldestUnacked: Double?
    /// The newest server versions seen in acks (or the Welcome): with `syncWeights`, the next
    /// gradient waits until the replica has caught up with them.
    var ackedVersion: UInt64
    var ackedTargetVersion: UInt64

    init(welcome w: Welcome, now: Double) {
        serverRunId = w.runId
        lastHeard = now
        ackedVersion = w.weightVersion
        ackedTargetVersion = w.targetVersion
    }

    /// Bounded: keeps the newest 64.
    mutating func buffer(_ env: WireEnvelope) {
        buffered.append(env)
        if buffered.count > 64 { buffered.removeFirst() }
    }

    mutating func pushed(at now: Double) {
        inFlight += 1
        if oldestUnacked == nil { oldestUnacked = now }
    }

    mutating func acknowledged(_ a: Ack, at now: Double) {
        inFlight = max(0, inFlight - 1)
        oldestUnacked = inFlight == 0 ? nil : now
        ackedVersion = max(ackedVersion, a.weightVersion)
        ackedTargetVersion = max(ackedTargetVersion, a.targetVersion)
    }

    /// Acks can be lost (dropped reply, connection reset): stop waiting for them.
    mutating func forgetUnacked() {
        inFlight = 0
        oldestUnacked = nil
    }

    /// Whether the producer may compute the next gradient on `replica` now.
    func readyToCompute(replica: WeightReplica, config: ActorConfig) -> Bool {
        guard !awaitingSync, inFlight < config.maxInFlight, replica.loaded else { return false }
        if config.syncWeights {
            return inFlight == 0 && replica.version >= ackedVersion && replica.targetVersion >= ackedTargetVersion
        }
        return true
    }
}
