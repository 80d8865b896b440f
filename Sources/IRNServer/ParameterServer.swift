import Foundation
import IRNNumerics
import IRNSupport
import IRNWire
import Logging
import ZeroMQ

/// The parameter server: owns the model (through `ParameterStore`), applies gradients as they
/// arrive, broadcasts weight patches and target refreshes, leases shards, checkpoints and
/// serves stats. One thread runs `run()`; everything else talks to it through sockets, except
/// `requestStop` and `setEvalMetrics`, which are thread-safe.
///
/// Sockets: ROUTER on P (actors), PUB on P+1 (broadcast), REP on P+2 (stats JSON),
/// STREAM on P+3 (HTTP `GET /metrics`, Prometheus text; `GET /stats`, JSON).
public final class ParameterServer: @unchecked Sendable {
    public let config: ServerConfig
    public let runId: UInt64
    /// The base port actually bound (differs from config.port when that was 0).
    public let port: Int
    public var logger: Logger

    let store: any ParameterStore
    private let context: Context
    let sockets: BoundSockets
    let zap: ZAPHandler?
    var leases: LeaseManager
    private let checkpoints: CheckpointStore?

    var actors: [[UInt8]: ActorRow] = [:]
    var counters = ServerCounters()
    var targetVersion: UInt64 = 0
    private var lastTargetMark: UInt64 = 0
    private var pending: [String: WeightChange] = [:]
    private var lastBroadcastVersion: UInt64
    private var lastBroadcastTime = 0.0
    /// CPU seconds of the serving thread (the one core the server needs), for the stats.
    private(set) var loopCPUSeconds = 0.0
    private var lastCheckpointTime: Double
    private var lastCheckpointKey: (UInt64, UInt64) = (UInt64.max, 0)
    var httpBuffers: [[UInt8]: [UInt8]] = [:]
    let startTime = monotonicSeconds()
    private let stopFlag = Locked(false)
    let evalMetrics = Locked<[String: Double]>([:])
    /// Called on the server's thread after every applied gradient, with the new version (e.g.
    /// to start a background evaluation every N updates on `currentWeights()`).
    public var onUpdate: ((ParameterServer, UInt64) -> Void)?
    /// Where the server resumed from, if it did.
    public private(set) var resumedFrom: URL?

    /// Binds the sockets and resumes from the newest good checkpoint in
    /// `config.checkpointDirectory`, if any.
    public init(config: ServerConfig, store: any ParameterStore, logger: Logger = Logger(label: "irn.server")) throws {
        precondition(!config.shardSizes.isEmpty, "the server needs at least one shard")
        self.config = config
        self.store = store
        self.logger = logger
        self.runId = StableHash.fnv1a(UInt64(getpid()) << 32 ^ UInt64(Date().timeIntervalSince1970 * 1e6)) | 1
        self.context = try Context()
        if let secret = config.curveSecretKey {
            guard Curve.isValidKey(secret) else { throw IRNError("the CURVE secret key is not 40 characters of Z85") }
            zap = try ZAPHandler(context: context, allowedKeys: config.curveAllowedKeys)
        } else {
            zap = nil
        }
        // The transport drops (and disconnects) only far larger messages; the decoder rejects
        // and counts everything over maxMessageBytes.
        let maxBytes = Int64(config.maxMessageBytes) * 2
        sockets = try BoundSockets.bind(context: context, host: config.host, port: config.port) { [zap] s, index in
            if index == 0 {
                try s.setRouterMandatory(false)
                try s.setRouterHandover(true)
                try s.setMaxMessageSize(maxBytes)
                try s.setHeartbeat(intervalMs: 1000, timeoutMs: 5000)
            }
            if index == 1 { try s.setSendHighWaterMark(100) }
            if index <= 1, zap != nil, let secret = config.curveSecretKey {
                try s.makeCurveServer(secretKey: secret)
            }
            if index == 2 { try s.setMaxMessageSize(1 << 20) }
        }
        port = sockets.basePort
        leases = LeaseManager(shardSizes: config.shardSizes, epochs: config.epochs, shardsPerLease: config.shardsPerLease)
        checkpoints = config.checkpointDirectory.map { CheckpointStore(directory: $0, keep: config.keepCheckpoints) }
        lastBroadcastVersion = 0
        lastCheckpointTime = monotonicSeconds()
        try resume()
        lastBroadcastVersion = store.version
        logger.info("server listening", metadata: [
            "run_id": "\(String(runId, radix: 16))", "actors": "tcp://\(config.host):\(port)",
            "broadcast": "\(port + 1)", "stats": "\(port + 2)", "metrics": "\(port + 3)",
            "curve": "\(zap != nil)", "step": "\(store.version)",
        ])
    }

    deinit {
        zap?.stop()
        sockets.closeAll()
    }

    /// Asks `run()` to checkpoint and return (safe from any thread, e.g. a SIGTERM handler).
    public func requestStop() { stopFlag.withLock { $0 = true } }

    /// Publishes the latest evaluation metrics (thread-safe; e.g. from a background evaluator).
    public func setEvalMetrics(_ m: [String: Double]) { evalMetrics.withLock { $0 = m } }

    public var isFinished: Bool { leases.finished }

    /// The current weights (dense). Only from the server's thread (e.g. in `onUpdate`).
    public func currentWeights() -> [TensorPart] { store.weights(nil) }

    // MARK: resume / checkpoint

    private func resume() throws {
        guard let checkpoints else { return }
        let found = checkpoints.loadNewest { url, error in
            logger.error("skipping unreadable checkpoint", metadata: ["file": "\(url.path)", "reason": "\(error)"])
        }
        guard let (url, file) = found else {
            logger.info("no checkpoint to resume from", metadata: ["dir": "\(checkpoints.directory.path)"])
            return
        }
        let t = file.tensors
        try store.restore(from: t.filter { !$0.key.hasPrefix("server.") })
        try leases.restore(from: t)
        func i64(_ name: String) throws -> UInt64 { UInt64(max(0, try t[name]?.int64s().first ?? 0)) }
        counters.envSteps = try i64("server.env_steps")
        targetVersion = try i64("server.target_version")
        lastTargetMark = try i64("server.target_mark")
        counters.sessionsStarted = try (t["server.sessions_started"]?.int64s() ?? []).map { UInt64(max(0, $0)) }
        resumedFrom = url
        lastCheckpointKey = (store.version, leases.progress.reduce(0, +))
        logger.info("resumed from checkpoint", metadata: [
            "file": "\(url.path)", "step": "\(store.version)", "epoch": "\(leases.epoch)",
            "target_version": "\(targetVersion)",
        ])
    }

    /// Writes a checkpoint now (if a directory is configured and anything changed).
    @discardableResult
    public func checkpoint(force: Bool = false) -> URL? {
        guard let checkpoints else { return nil }
        let key = (store.version, leases.progress.reduce(0, +) + UInt64(leases.epoch) << 40)
        if !force && key == lastCheckpointKey { return nil }
        var t = store.checkpointTensors()
        for (k, v) in leases.checkpointTensors() { t[k] = v }
        t["server.env_steps"] = SafetensorsTensor(int64s: [Int64(counters.envSteps)], shape: [1])
        t["server.target_version"] = SafetensorsTensor(int64s: [Int64(targetVersion)], shape: [1])
        t["server.target_mark"] = SafetensorsTensor(int64s: [Int64(lastTargetMark)], shape: [1])
        if !counters.sessionsStarted.isEmpty {
            t["server.sessions_started"] = SafetensorsTensor(int64s: counters.sessionsStarted.map { Int64($0) }, shape: [counters.sessionsStarted.count])
        }
        do {
            let url = try checkpoints.save(t, version: store.version, metadata: ["settings": config.settingsJSON])
            lastCheckpointKey = key
            lastCheckpointTime = monotonicSeconds()
            logger.info("checkpoint written", metadata: ["file": "\(url.path)", "step": "\(store.version)"])
            return url
        } catch {
            logger.error("checkpoint failed", metadata: ["reason": "\(error)"])
            return nil
        }
    }

    // MARK: the loop

    /// Serves until every epoch is done or `requestStop()`; then broadcasts pending weights,
    /// checkpoints and says goodbye to the actors.
    public func run() throws {
        var finishedAt: Double?
        let loopCPUStart = threadCPUSeconds()
        while true {
            if stopFlag.current { break }
            if leases.finished {
                if finishedAt == nil {
                    finishedAt = monotonicSeconds()
                    flushBroadcast()
                    publish(.bye(.finished))
                    logger.notice("all epochs done", metadata: ["step": "\(store.version)",
                                                                "sessions_started": "\(counters.sessionsStarted)"])
                }
                if monotonicSeconds() - finishedAt! >= config.finishGrace { break }
            }
            let ready = try poll([sockets.router, sockets.stats, sockets.http], timeoutMs: 50)
            if ready[0] { try drainRouter() }
            if ready[1] { try serveStats() }
            if ready[2] { try serveHTTP() }
            periodic()
            loopCPUSeconds = threadCPUSeconds() - loopCPUStart
        }
        flushBroadcast()
        checkpoint()
        if !leases.finished { publish(.bye(.serverShutdown)) }
        // Give the goodbye a moment to leave (linger applies to the PUB socket only).
        try? sockets.pub.setLinger(500)
        zap?.stop()
        sockets.closeAll()
        context.terminate()  // waits for the linger above; the ports are free afterwards
        logger.info("server stopped", metadata: ["step": "\(store.version)", "finished": "\(leases.finished)"])
    }

    private func periodic() {
        let now = monotonicSeconds()
        counters.sampleRate(at: now)
        // Actors that stopped heartbeating lose their leases.
        for (identity, row) in actors where now - row.lastSeen > config.heartbeatTimeout {
            let shards = leases.release(actor: key(identity))
            actors.removeValue(forKey: identity)
            counters.actorsTimedOut += 1
            if !shards.isEmpty { counters.leasesReassigned += 1 }
            logger.warning("actor timed out; shards returned", metadata: ["actor": "\(row.id)", "shards": "\(shards)"])
        }
        if config.broadcastInterval > 0 && now - lastBroadcastTime >= config.broadcastInterval { flushBroadcast() }
        if now - lastCheckpointTime >= config.checkpointEvery { checkpoint() }
    }

    func key(_ identity: [UInt8]) -> String {
        identity.map { String(format: "%02x", $0) }.joined()
    }

    func reject(_ label: String, _ detail: String, from identity: [UInt8]? = nil) {
        counters.rejected[label, default: 0] += 1
        logger.debug("message rejected", metadata: ["reason": "\(label)", "detail": "\(detail)"])
    }

    // MARK: sending

    private func reply(_ identity: [UInt8], _ m: WireMessage) {
        let frames = WireFormat.encode(m, senderRunId: runId, weightVersion: store.version)
        counters.bytesOut += UInt64(frames.reduce(0) { $0 + $1.count })
        _ = try? sockets.router.send([identity] + frames, dontWait: true)
    }

    private func publish(_ m: WireMessage) {
        let frames = WireFormat.encode(m, senderRunId: runId, weightVersion: store.version)
        let n = UInt64(frames.reduce(0) { $0 + $1.count })
        counters.bytesOut += n
        counters.broadcasts += 1
        counters.broadcastBytes += n
        _ = try? sockets.pub.send(frames, dontWait: true)
    }

    private func flushBroadcast() {
        lastBroadcastTime = monotonicSeconds()
        guard !pending.isEmpty else { return }
        let parts = store.weights(pending)
        publish(.weights(WeightUpdate(fromVersion: lastBroadcastVersion, toVersion: store.version, full: false, parts: parts)))
        lastBroadcastVersion = store.version
        pending = [:]
    }

    private func welcome(lease: Lease?) -> WireMessage {
        .welcome(Welcome(runId: runId, weightVersion: store.version, targetVersion: targetVersion,
                         weights: store.weights(nil), target: store.target(),
                         settingsJSON: config.settingsJSON, lease: lease))
    }

    // MARK: actors

    private func drainRouter() throws {
        // A time budget, so that under a stream of gradients the stats, HTTP and periodic
        // work (heartbeat timeouts, checkpoints, broadcasts) still get their turn.
        let until = monotonicSeconds() + 0.05
        for _ in 0..<256 {
            if monotonicSeconds() > until { return }
            // Frames stay in libzmq's buffers: the decoder reads tensors from there directly.
            guard let frames = try sockets.router.receiveFrames(dontWait: true) else { return }
            let size = frames.reduce(0) { $0 + $1.count }
            counters.bytesIn += UInt64(size)
            guard frames.count >= 2 else {
                reject("framing", "message without payload")
                continue
            }
            let identity = frames[0].bytes
            let payload = Array(frames.dropFirst())
            let env: WireEnvelope, tensors: [TensorPartView]
            do {
                (env, tensors) = try WireFormat.decodeBorrowingTensors(payload, maxBytes: config.maxMessageBytes)
            } catch {
                reject(error.label, error.description, from: identity)
                continue
            }
            // A gradient's tensors point into `payload`: keep it alive until it is applied.
            withExtendedLifetime(payload) { handle(env, tensors: tensors, from: identity, bytes: size) }
        }
    }

    private func handle(_ env: WireEnvelope, tensors: [TensorPartView], from identity: [UInt8], bytes: Int) {
        let now = monotonicSeconds()
        if case .hello(let h) = env.message {
            if actors[identity] != nil { leases.release(actor: key(identity)) }
            actors[identity] = ActorRow(id: h.actorId, host: h.host, threads: h.threads, joinedAt: now, lastSeen: now)
            let grant = leases.grant(to: key(identity), maxShards: config.shardsPerLease)
            flushBroadcast()
            reply(identity, welcome(lease: grant.lease))
            logger.info("actor joined", metadata: [
                "actor": "\(h.actorId)", "host": "\(h.host)", "threads": "\(h.threads)",
                "rejoin": "\(h.knownRunId != 0 && h.knownRunId != runId)",
                "shards": "\(grant.lease?.shards.map(\.shard) ?? [])",
            ])
            return
        }
        if case .statsRequest = env.message {
            reply(identity, .statsReply(json: statsJSON()))
            return
        }
        if case .weightsRequest = env.message, env.flags & WireEnvelope.readOnlySubscriberFlag != 0, actors[identity] == nil {
            // A read-only subscriber (`irn serve --follow`): a copy of the weights, no lease.
            flushBroadcast()
            reply(identity, welcome(lease: nil))
            return
        }
        guard var row = actors[identity] else {
            // Unknown (timed out, or we restarted): tell it to say hello again.
            counters.rejected["unknown_actor", default: 0] += 1
            reply(identity, .bye(.unknownActor))
            return
        }
        row.lastSeen = now
        row.bytesIn += UInt64(bytes)
        actors[identity] = row
        let actorKey = key(identity)
        switch env.message {
        case .gradient(let g):
            handleGradient(g, tensors: tensors, baseVersion: env.weightVersion, identity: identity, actorKey: actorKey)
        case .heartbeat(let id, let p):
            leases.commit(leaseId: id, actor: actorKey, progress: p)
        case .leaseRequest(let n):
            reply(identity, .leaseGrant(leases.grant(to: actorKey, maxShards: n == 0 ? config.shardsPerLease : Int(n))))
        case .leaseComplete(let id, let p), .leaseReturn(let id, let p):
            leases.commit(leaseId: id, actor: actorKey, progress: p)
            if leases.isHeld(leaseId: id, by: actorKey) { leases.end(leaseId: id) }
        case .weightsRequest:
            flushBroadcast()
            reply(identity, welcome(lease: nil))
        case .bye:
            let shards = leases.release(actor: actorKey)
            actors.removeValue(forKey: identity)
            logger.info("actor left", metadata: ["actor": "\(row.id)", "returned_shards": "\(shards)"])
        default:
            reject("unexpected_kind", "\(env.message.kind) from an actor")
        }
    }

    private func handleGradient(_ g: GradientPush, tensors: [TensorPartView], baseVersion: UInt64, identity: [UInt8], actorKey: String) {
        counters.pushes += 1
        actors[identity]?.pushes += 1
        // Progress is committed with the push even when the gradient is dropped as stale:
        // the sessions were visited; only their (too old) gradient is discarded.
        let epochBefore = Int(leases.epoch)
        let held = leases.isHeld(leaseId: g.leaseId, by: actorKey)
        leases.commit(leaseId: g.leaseId, actor: actorKey, progress: g.progress)
        if held, let n = g.stats["sessions"], n > 0 {
            while counters.sessionsStarted.count <= epochBefore { counters.sessionsStarted.append(0) }
            counters.sessionsStarted[epochBefore] += UInt64(n)
        }
        counters.noteStats(g.stats)
        counters.envSteps += g.envSteps
        let version = store.version
        guard baseVersion <= version else {
            reject("version_ahead", "gradient on version \(baseVersion) > \(version)")
            reply(identity, .ack(Ack(sequence: g.sequence, status: .rejected, weightVersion: version, targetVersion: targetVersion)))
            return
        }
        let staleness = version - baseVersion
        counters.noteStaleness(staleness)
        actors[identity]?.lastStaleness = staleness
        if let loss = g.stats["loss"] { counters.noteLoss(loss) }
        if let bound = config.maxStaleness, staleness > bound {
            counters.droppedStale += 1
            actors[identity]?.stale += 1
            reply(identity, .ack(Ack(sequence: g.sequence, status: .stale, weightVersion: version, targetVersion: targetVersion)))
            maybeRefreshTarget()
            return
        }
        do {
            let changed = try store.apply(views: tensors)
            for (name, c) in changed { pending[name] = pending[name].map { $0.merged(with: c) } ?? c }
        } catch {
            reject("model", "\(error)")
            reply(identity, .ack(Ack(sequence: g.sequence, status: .rejected, weightVersion: version, targetVersion: targetVersion)))
            return
        }
        counters.applied += 1
        actors[identity]?.applied += 1
        if broadcastDue { flushBroadcast() }
        maybeRefreshTarget()
        onUpdate?(self, store.version)
        reply(identity, .ack(Ack(sequence: g.sequence, status: .applied, weightVersion: store.version, targetVersion: targetVersion)))
    }

    /// After an update: every update without an interval, else when the unbroadcast updates
    /// reach `broadcastEvery` or half the staleness bound (every update with bound 0).
    private var broadcastDue: Bool {
        if config.broadcastInterval <= 0 { return true }
        let behind = store.version - lastBroadcastVersion
        if config.broadcastEvery > 0 && behind >= config.broadcastEvery { return true }
        if let s = config.maxStaleness, behind >= max(1, s / 2) { return true }
        return false
    }

    private func maybeRefreshTarget() {
        guard config.targetEvery > 0 else { return }
        let now = config.targetUnit == .envSteps ? counters.envSteps : store.version
        guard now - lastTargetMark >= config.targetEvery else { return }
        lastTargetMark = now - (now - lastTargetMark) % config.targetEvery
        // Actors copy their own weights at this version, so send the patch that reaches it first.
        flushBroadcast()
        store.refreshTarget()
        targetVersion += 1
        publish(.targetRefresh(TargetRefresh(targetVersion: targetVersion, weightVersion: store.version)))
        logger.info("target refreshed", metadata: ["target_version": "\(targetVersion)", "step": "\(store.version)"])
    }

}

extension Double {
    var rounded3: Double { (self * 1000).rounded() / 1000 }
    var rounded6: Double { (self * 1e6).rounded() / 1e6 }
}
