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
    private let producer: any GradientProducer
    private let context: Context
    private let dealer: Socket
    private let sub: Socket
    private let runId: UInt64

    private var replica = WeightReplica()
    private var joined = false
    private var serverRunId: UInt64 = 0
    private var lastHello = -1e9
    private var lastHeard = 0.0
    private var lastHeartbeat = 0.0
    private var lease: Lease?
    private var awaitingGrant = false
    private var nextLeaseAsk = 0.0
    private var awaitingSync = false
    private var buffered: [WireEnvelope] = []
    private var inFlight = 0
    private var ackedVersion: UInt64 = 0
    private var ackedTargetVersion: UInt64 = 0
    private var oldestUnacked: Double?
    private var sequence: UInt64 = 0
    private var outcome: Outcome?
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
        try sub.setReceiveHighWaterMark(1000)
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

    // MARK: sending

    private func send(_ m: WireMessage, weightVersion: UInt64? = nil) {
        let frames = WireFormat.encode(m, senderRunId: runId, weightVersion: weightVersion ?? replica.version)
        _ = try? dealer.send(frames, dontWait: true)
    }

    private func sendHello(_ now: Double) {
        lastHello = now
        send(.hello(Hello(actorId: config.actorId, host: config.host, threads: config.threads, knownRunId: serverRunId)))
    }

    private func bump(_ f: (inout Counts) -> Void) { shared.withLock(f) }

    // MARK: loop

    public func run() throws -> Outcome {
        while outcome == nil {
            if let s = stop.current {
                leave(s)
                break
            }
            let now = monotonicSeconds()
            if !joined && now - lastHello >= config.helloRetry { sendHello(now) }
            let canWork = joined && lease != nil && readyToCompute
            let ready = try poll([dealer, sub], timeoutMs: canWork ? 0 : 20)
            if ready[1] { drain(sub, broadcast: true) }
            if ready[0] { drain(dealer, broadcast: false) }
            if outcome != nil { break }
            guard joined else { continue }
            let t = monotonicSeconds()
            if t - lastHeard > config.serverSilenceTimeout {
                logger.warning("server silent; rejoining", metadata: ["seconds": "\(Int(t - lastHeard))"])
                rejoin()
                continue
            }
            if let o = oldestUnacked, t - o > config.ackTimeout {
                // An ack can be lost (dropped reply, connection reset): don't wait forever.
                logger.warning("pushes not acknowledged; continuing", metadata: ["in_flight": "\(inFlight)"])
                inFlight = 0
                oldestUnacked = nil
            }
            if t - lastHeartbeat >= config.heartbeatInterval {
                lastHeartbeat = t
                send(.heartbeat(leaseId: lease?.leaseId ?? 0, progress: lease == nil ? [] : producer.progress))
            }
            if lease == nil && !awaitingGrant && t >= nextLeaseAsk {
                awaitingGrant = true
                send(.leaseRequest(maxShards: config.shardsPerLease))
            }
            if let l = lease, readyToCompute {
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

    /// The "finished" broadcast can overtake the acks of our last pushes: read them (briefly)
    /// so the counts are complete.
    private func collectLastAcks() {
        let end = monotonicSeconds() + 0.5
        while inFlight > 0 && monotonicSeconds() < end {
            guard (try? poll([dealer], timeoutMs: 20))?.first == true,
                  let frames = try? dealer.receive(dontWait: true),
                  let env = try? WireFormat.decode(frames) else { continue }
            if case .ack = env.message, env.senderRunId == serverRunId { handle(env, broadcast: false) }
        }
    }

    private var readyToCompute: Bool {
        guard !awaitingSync, inFlight < config.maxInFlight, replica.loaded else { return false }
        if config.syncWeights {
            return inFlight == 0 && replica.version >= ackedVersion && replica.targetVersion >= ackedTargetVersion
        }
        return true
    }

    private func work(on l: Lease) throws {
        guard let g = try producer.nextGradient(replica: &replica) else {
            send(.leaseComplete(leaseId: l.leaseId, progress: producer.progress))
            logger.info("lease complete", metadata: ["lease": "\(l.leaseId)", "shards": "\(l.shards.map(\.shard))"])
            lease = nil
            return
        }
        sequence += 1
        inFlight += 1
        if oldestUnacked == nil { oldestUnacked = monotonicSeconds() }
        send(.gradient(GradientPush(sequence: sequence, envSteps: g.envSteps, leaseId: l.leaseId,
                                    progress: g.progress, stats: g.stats, parts: g.parts)))
        bump { $0.pushes += 1 }
    }

    private func leave(_ how: Outcome) {
        outcome = how
        guard how == .stopped, joined else { return }
        if let l = lease { send(.leaseReturn(leaseId: l.leaseId, progress: producer.progress)) }
        send(.bye(.leaving))
        // Let the goodbye leave before the socket closes.
        try? dealer.setLinger(1000)
        logger.info("left the cluster", metadata: ["returned_lease": "\(lease?.leaseId ?? 0)"])
    }

    private func rejoin() {
        if lease != nil { producer.abandon() }
        lease = nil
        joined = false
        awaitingGrant = false
        awaitingSync = false
        inFlight = 0
        oldestUnacked = nil
        ackedVersion = 0
        ackedTargetVersion = 0
        buffered = []
        lastHello = -1e9
    }

    private func drain(_ s: Socket, broadcast: Bool) {
        for _ in 0..<256 {
            guard let frames = try? s.receive(dontWait: true) else { return }
            let env: WireEnvelope
            do { env = try WireFormat.decode(frames) } catch {
                logger.warning("bad message from server", metadata: ["reason": "\(error)"])
                continue
            }
            handle(env, broadcast: broadcast)
            if outcome != nil { return }
        }
    }

    private func handle(_ env: WireEnvelope, broadcast: Bool) {
        if case .welcome(let w) = env.message {
            lastHeard = monotonicSeconds()
            takeWelcome(w)
            return
        }
        // A server (possibly a restarted one) that does not know us: say hello again.
        if !broadcast, case .bye(.unknownActor) = env.message {
            // (While not joined, these are answers to messages sent before our Hello.)
            if joined {
                logger.info("server does not know us (restarted?); rejoining")
                rejoin()
            }
            return
        }
        // Anything from another server run is stale (the server restarted): ignore it, our next
        // message to the new server gets us a "say hello again".
        guard joined, env.senderRunId == serverRunId else { return }
        lastHeard = monotonicSeconds()
        switch env.message {
        case .weights(let u):
            if awaitingSync { buffer(env); return }
            switch replica.apply(u) {
            case .applied, .old: break
            case .gap: requestSync(); buffer(env)
            case .mismatch(let why):
                logger.error("weight update does not match the model", metadata: ["reason": "\(why)"])
                requestSync()
            }
            publishVersions()
        case .targetRefresh(let r):
            if awaitingSync || !replica.refreshTarget(r) {
                buffer(env)
                if !awaitingSync && r.weightVersion < replica.version { requestSync() }
            }
            publishVersions()
        case .ack(let a):
            inFlight = max(0, inFlight - 1)
            oldestUnacked = inFlight == 0 ? nil : monotonicSeconds()
            ackedVersion = max(ackedVersion, a.weightVersion)
            ackedTargetVersion = max(ackedTargetVersion, a.targetVersion)
            bump {
                switch a.status {
                case .applied: $0.applied += 1
                case .stale: $0.stale += 1
                case .rejected, .unknownActor, .finished: $0.rejected += 1
                }
            }
        case .leaseGrant(let g):
            awaitingGrant = false
            switch g.status {
            case .granted:
                if let l = g.lease { start(l) }
            case .wait:
                nextLeaseAsk = monotonicSeconds() + 0.2
            case .finished:
                outcome = .finished
            }
        case .bye(let reason):
            switch reason {
            case .finished:
                outcome = .finished
            case .serverShutdown:
                logger.info("server asks us to rejoin", metadata: ["reason": "\(reason)"])
                rejoin()
            case .leaving, .unknownActor:
                break
            }
        default:
            break
        }
    }

    private func buffer(_ env: WireEnvelope) {
        buffered.append(env)
        if buffered.count > 64 { buffered.removeFirst() }
    }

    private func requestSync() {
        guard !awaitingSync else { return }
        awaitingSync = true
        bump { $0.resyncs += 1 }
        send(.weightsRequest)
    }

    private func takeWelcome(_ w: Welcome) {
        let newRun = w.runId != serverRunId
        if !joined || newRun {
            // A (re)join: the server's state is authoritative.
            if lease != nil { producer.abandon() }
            lease = nil
            serverRunId = w.runId
            joined = true
            inFlight = 0
            oldestUnacked = nil
            ackedVersion = w.weightVersion
            ackedTargetVersion = w.targetVersion
            lastHeartbeat = 0
            do {
                try producer.configure(settingsJSON: w.settingsJSON)
            } catch {
                logger.error("cannot use the server's settings", metadata: ["reason": "\(error)"])
                // Give back the shards the Welcome granted and leave, so the server hands them
                // to another actor now rather than after our heartbeat timeout.
                if let l = w.lease { send(.leaseReturn(leaseId: l.leaseId, progress: l.shards)) }
                send(.bye(.leaving))
                try? dealer.setLinger(1000)
                outcome = .refusedSettings("\(error)")
                return
            }
            bump { $0.joins += 1; $0.serverRunId = w.runId }
            logger.info("joined", metadata: ["run_id": "\(String(w.runId, radix: 16))", "step": "\(w.weightVersion)"])
        }
        replica.load(version: w.weightVersion, weights: w.weights, targetVersion: w.targetVersion, target: w.target)
        awaitingSync = false
        if let l = w.lease { start(l) }
        // Replay broadcasts that arrived while we waited for this copy.
        let replay = buffered
        buffered = []
        for env in replay where env.senderRunId == serverRunId { handle(env, broadcast: true) }
        publishVersions()
    }

    private func start(_ l: Lease) {
        lease = l
        producer.begin(lease: l)
        bump { $0.leases += 1 }
        logger.info("lease granted", metadata: ["lease": "\(l.leaseId)", "epoch": "\(l.epoch)",
                                               "shards": "\(l.shards.map { "\($0.shard)@\($0.done)/\($0.total)" })"])
    }

    private func publishVersions() {
        let v = replica.version, t = replica.targetVersion
        bump { $0.weightVersion = v; $0.targetVersion = t }
    }
}
