import Foundation
import IRNSupport
import IRNWire
import Logging
import ZeroMQ

/// The network half of an actor: joins the server, keeps a weight replica in step with its
/// broadcasts, leases shards, heartbeats, pushes the producer's gradients, rejoins by itself
/// after a server restart, and on `requestStop` returns its lease and says goodbye.
/// `run()` blocks on the calling thread; `requestStop` and `counts` are thread-safe.
public final class ActorClient: @unchecked Sendable {
    public enum Outcome: Sendable, Equatable {
        /// The server said every epoch is done.
        case finished
        /// `requestStop` (leases returned, goodbye sent).
        case stopped
        /// `requestStop(graceful: false)`: vanished without a word (tests of the timeout path).
        case abandoned
        /// The producer cannot use the settings in the server's Welcome (not the server's data
        /// set, an algorithm it cannot compute, ...): the reason. The actor returned the lease
        /// the Welcome granted and said goodbye; it computed nothing. `irn-actor` exits non-zero.
        case refusedSettings(String)

        /// True when the run ended on a problem the operator must fix (exit non-zero).
        public var isFailure: Bool {
            if case .refusedSettings = self { return true }
            return false
        }
    }

    public struct Counts: Sendable, Equatable {
        public var pushes = 0
        public var applied = 0
        public var stale = 0
        public var rejected = 0
        public var joins = 0
        public var leases = 0
        public var resyncs = 0
        public var weightVersion: UInt64 = 0
        public var targetVersion: UInt64 = 0
        public var serverRunId: UInt64 = 0
    }

    public let config: ActorConfig
    public var logger: Logger
    let producer: any GradientProducer
    let context: Context
    let dealer: Socket
    let sub: Socket
    let runId: UInt64

    var replica = WeightReplica()
    var state = ActorState.initial
    /// Not before this time: the server answered "wait". Not part of the session, so the
    /// back-off also holds for the first request after a rejoin.
    var nextLeaseAsk = 0.0
    /// Numbers our gradient pushes over the whole process, across joins.
    var sequence: UInt64 = 0
    var outcome: Outcome?
    /// While joining: when the current attempt began and how many went unanswered, so an
    /// unreachable server is logged (and, with `connectAttempts`, given up on), not waited
    /// for in silence.
    var joinAttemptStart: Double?
    var unansweredJoins = 0
    private let stop = Locked<Outcome?>(nil)
    private let shared = Locked(Counts())

    public init(config: ActorConfig, producer: any GradientProducer, logger: Logger = Logger(label: "irn.actor")) throws {
        guard let bcast = config.broadcastEndpoint(), config.server.hasPrefix("tcp://") else {
            throw IRNError("server address must look like tcp://HOST:PORT, got '\(config.server)'")
        }
        self.config = config
        self.producer = producer
        self.logger = logger
        self.runId = StableHash.fnv1a(UInt64(getpid()) << 32 ^ UInt64(Date().timeIntervalSince1970 * 1e6) ^ StableHash.fnv1a(bytes: Array(config.actorId.utf8)))
        context = try Context()
        dealer = try context.socket(.dealer)
        sub = try context.socket(.sub)
        // A routing id unique to this process, readable in logs.
        try dealer.setRoutingId(Array("\(config.actorId.prefix(200))#\(String(runId & 0xFFFF_FFFF, radix: 16))".utf8))
        try dealer.setHeartbeat(intervalMs: 1000, timeoutMs: 5000)
        try dealer.setReconnectInterval(ms: 100, maxMs: 2000)
        try sub.setReconnectInterval(ms: 100, maxMs: 2000)
        // Few patches wait here: the backlog of a stalled process stays in the server's bounded
        // queue (--broadcast-queue), and a gap makes us fetch the full weights anyway.
        try sub.setReceiveHighWaterMark(4)
        if let c = config.curve {
            try dealer.makeCurveClient(serverPublicKey: c.serverPublicKey, publicKey: c.publicKey, secretKey: c.secretKey)
            try sub.makeCurveClient(serverPublicKey: c.serverPublicKey, publicKey: c.publicKey, secretKey: c.secretKey)
        }
        try sub.subscribe()
        try sub.connect(bcast)
        try dealer.connect(config.server)
    }

    deinit {
        dealer.close()
        sub.close()
    }

    public var counts: Counts { shared.current }

    /// Ends `run()`: graceful returns the lease and says goodbye; otherwise the actor just
    /// goes silent (as if killed), which tests use to exercise the server's timeout.
    public func requestStop(graceful: Bool = true) {
        stop.withLock { $0 = graceful ? .stopped : .abandoned }
    }

    /// The joined session, nil while joining. Writes through `session?.x = ...` only take
    /// effect while joined, which is the only time session data exists.
    var session: Session? {
        get {
            if case .joined(let s) = state { return s }
            return nil
        }
        set {
            guard let s = newValue, case .joined = state else { return }
            state = .joined(s)
        }
    }

    // MARK: sending

    func send(_ m: WireMessage, weightVersion: UInt64? = nil) {
        let frames = WireFormat.encode(m, senderRunId: runId, weightVersion: weightVersion ?? replica.version)
        _ = try? dealer.send(frames, dontWait: true)
    }

    func bump(_ f: (inout Counts) -> Void) { shared.withLock(f) }

    // MARK: loop

    public func run() throws -> Outcome {
        logger.info("joining", metadata: ["server": "\(config.server)"])
        while outcome == nil {
            if let how = stop.current {
                leave(how)
                break
            }
            let now = monotonicSeconds()
            if case .joining(let lastHello, let known) = state, now - lastHello >= config.helloRetry {
                state = .joining(lastHello: now, knownRunId: known)
                logger.debug("hello", metadata: ["server": "\(config.server)"])
                send(.hello(Hello(actorId: config.actorId, host: config.host, threads: config.threads, knownRunId: known)))
            }
            if let failure = checkJoinAttempt(now: now) {
                dealer.close()
                sub.close()
                context.terminate()
                throw failure
            }
            let canWork = session?.lease != nil && readyToCompute
            let ready = try poll([dealer, sub], timeoutMs: canWork ? 0 : 20)
            if ready[1] { drain(sub, broadcast: true) }
            if ready[0] { drain(dealer, broadcast: false) }
            if outcome != nil { break }
            guard let s = session else { continue }
            let t = monotonicSeconds()
            if t - s.lastHeard > config.serverSilenceTimeout {
                logger.warning("server silent; rejoining", metadata: ["seconds": "\(Int(t - s.lastHeard))"])
                rejoin()
                continue
            }
            if let o = s.oldestUnacked, t - o > config.ackTimeout {
                logger.warning("pushes not acknowledged; continuing", metadata: ["in_flight": "\(s.inFlight)"])
                session?.forgetUnacked()
            }
            if t - s.lastHeartbeat >= config.heartbeatInterval {
                session?.lastHeartbeat = t
                send(.heartbeat(leaseId: s.lease?.leaseId ?? 0, progress: s.lease == nil ? [] : producer.progress))
            }
            if s.lease == nil && !s.awaitingGrant && t >= nextLeaseAsk {
                session?.awaitingGrant = true
                send(.leaseRequest(maxShards: config.shardsPerLease))
            }
            if let l = s.lease, readyToCompute {
                do {
                    try work(on: l)
                } catch {
                    logger.error("gradient producer failed; returning the lease", metadata: ["reason": "\(error)"])
                    leave(.stopped)
                    dealer.close()
                    sub.close()
                    context.terminate()
                    throw error
                }
            }
        }
        if outcome == .finished { collectLastAcks() }
        dealer.close()
        sub.close()
        context.terminate()  // waits at most the goodbye's linger
        return outcome ?? .stopped
    }

    /// Logs each join attempt the server left unanswered for `connectTimeout` seconds; the
    /// error to end `run()` with once `connectAttempts` (when > 0) went unanswered.
    private func checkJoinAttempt(now: Double) -> IRNError? {
        guard case .joining = state else {
            joinAttemptStart = nil
            unansweredJoins = 0
            return nil
        }
        guard let start = joinAttemptStart else {
            joinAttemptStart = now
            return nil
        }
        guard now - start >= config.connectTimeout else { return nil }
        unansweredJoins += 1
        joinAttemptStart = now
        let seconds = config.connectTimeout.rounded() == config.connectTimeout ? "\(Int(config.connectTimeout))" : "\(config.connectTimeout)"
        if config.connectAttempts > 0 && unansweredJoins >= config.connectAttempts {
            return IRNError("no answer from \(config.server) after \(unansweredJoins) attempt(s) of \(seconds) s (is irn-server running there, on that port?)")
        }
        logger.warning("no answer from \(config.server) after \(seconds) s, retrying", metadata: ["attempt": "\(unansweredJoins + 1)"])
        return nil
    }

    /// The "finished" broadcast can overtake the acks of our last pushes: read them (briefly)
    /// so the counts are complete.
    private func collectLastAcks() {
        let end = monotonicSeconds() + 0.5
        while let s = session, s.inFlight > 0, monotonicSeconds() < end {
            guard (try? poll([dealer], timeoutMs: 20))?.first == true,
                  let frames = try? dealer.receive(dontWait: true),
                  let env = try? WireFormat.decode(frames) else { continue }
            if case .ack = env.message, env.senderRunId == s.serverRunId { handle(env, broadcast: false) }
        }
    }

    private var readyToCompute: Bool {
        session?.readyToCompute(replica: replica, config: config) ?? false
    }

    /// Leaves the server run we are joined to (if any) and says hello again.
    func rejoin() {
        if session?.lease != nil { producer.abandon() }
        state = .joining(lastHello: ActorState.longAgo, knownRunId: state.knownRunId)
    }

    private func leave(_ how: Outcome) {
        outcome = how
        guard how == .stopped, let s = session else { return }
        if let l = s.lease { send(.leaseReturn(leaseId: l.leaseId, progress: producer.progress)) }
        send(.bye(.leaving))
        // Let the goodbye leave before the socket closes.
        try? dealer.setLinger(1000)
        logger.info("left the cluster", metadata: ["returned_lease": "\(s.lease?.leaseId ?? 0)"])
    }
}
