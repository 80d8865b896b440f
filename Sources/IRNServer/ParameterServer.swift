import Foundation
import IRNAgents
import IRNNumerics
import IRNSupport
import IRNWire
import Logging
import ZeroMQ

/// The parameter server. Its loop moves frames (the transport, as ps-lite's van) and hands
/// them to the parts that decide: the model (`ParameterStore`), the actor registry with its
/// leases (`ActorRegistry`), the target schedule (`TargetSchedule`, shared with `irn train`),
/// the broadcaster, the checkpointer and the stats. One thread runs `run()`; everything else
/// talks to it through sockets, except `requestStop` and `setEvalMetrics` (thread-safe).
///
/// Ports: ROUTER on P (actors), PUB on P+1 (broadcast), REP on P+2 (stats JSON), HTTP on P+3
/// (`GET /metrics`, Prometheus text; `GET /stats`, JSON).
public final class ParameterServer: @unchecked Sendable {
    public let config: ServerConfig
    public let runId: UInt64
    /// The base port actually bound (differs from config.port when that was 0).
    public let port: Int
    public var logger: Logger

    let store: any ParameterStore
    private let context: Context
    let sockets: ServerSockets
    let zap: ZAPHandler?
    var registry: ActorRegistry
    var progress: ServerProgress
    private var broadcaster: Broadcaster
    var checkpointer: ServerCheckpointer?
    /// The record file (`ServerRecord`), if `config.recordFile` asks for one.
    let record: ServerRecord?
    var counters = ServerCounters()
    let board = StatsBoard()
    /// CPU seconds of the serving thread (the one core the server needs), for the stats.
    private(set) var loopCPUSeconds = 0.0
    let startTime = monotonicSeconds()
    private let stopFlag = Locked(false)
    /// Set by `finishEarly` (early stopping): the run ends as finished before its epochs.
    private let earlyStop = Locked<String?>(nil)
    let evalMetrics = Locked<[String: Double]>([:])
    /// Called on the server's thread after every applied gradient, with the new version (e.g.
    /// to start a background evaluation every N updates on `currentWeights()`).
    public var onUpdate: ((ParameterServer, UInt64) -> Void)?
    /// Where the server resumed from, if it did.
    public private(set) var resumedFrom: URL?
    /// Where `--fresh` moved the old checkpoints, if there were any.
    public private(set) var movedAside: URL?

    var leases: LeaseManager { registry.leases }
    var targetVersion: UInt64 { UInt64(progress.target.refreshes) }

    /// Binds the ports and resumes from the newest good checkpoint in
    /// `config.checkpointDirectory`, if any.
    public init(config: ServerConfig, store: any ParameterStore, logger: Logger = Logger(label: "irn.server")) throws {
        precondition(!config.shardSizes.isEmpty, "the server needs at least one shard")
        self.config = config
        self.store = store
        self.logger = logger
        let runId = StableHash.fnv1a(UInt64(getpid()) << 32 ^ UInt64(Date().timeIntervalSince1970 * 1e6)) | 1
        self.runId = runId
        let record = try config.recordFile.map { try ServerRecord(path: $0.path) }
        self.record = record
        let leases = LeaseManager(shardSizes: config.shardSizes, epochs: config.epochs, shardsPerLease: config.shardsPerLease)
        var progress = ServerProgress(leases: leases, target: TargetSchedule(every: config.targetEvery, unit: config.targetUnit))
        // Before binding: a refused checkpoint directory leaves no ports or threads behind.
        var checkpointer = config.checkpointDirectory.map {
            ServerCheckpointer(store: CheckpointStore(directory: $0, keep: config.keepCheckpoints),
                               every: config.checkpointEvery, now: monotonicSeconds())
        }
        if record != nil { checkpointer?.record = { record?.write($0, run: runId, $1) } }
        if config.start == .fresh, let c = checkpointer {
            movedAside = try c.store.moveAside()
        }
        let resumed = try checkpointer?.resume(model: store, progress: &progress, settingsJSON: config.settingsJSON, logger: logger)
        if let dir = config.checkpointDirectory {
            if config.start == .resume && resumed == nil {
                throw IRNError("--resume: no checkpoint to resume from (start without --resume, or with --fresh)", file: dir.path)
            }
            if let r = resumed, progress.leases.finished || r.status == "early-stopped" {
                let what = r.status == "early-stopped" ? "was early-stopped" : "finished all \(config.epochs) epoch(s)"
                throw IRNError("the run in this checkpoint directory \(what) (\(r.url.lastPathComponent), step \(store.version)): nothing to resume; --fresh starts a new run (the old checkpoints move to replaced-<n>/), or use another --checkpoint-dir",
                               file: dir.path)
            }
        }
        resumedFrom = resumed?.url
        self.progress = progress
        self.context = try Context()
        if let secret = config.curveSecretKey {
            guard Curve.isValidKey(secret) else { throw IRNError("the CURVE secret key is not 40 characters of Z85") }
            zap = try ZAPHandler(context: context, allowedKeys: config.curveAllowedKeys)
        } else {
            zap = nil
        }
        let board = self.board
        sockets = try ServerSockets.bind(context: context, host: config.host, port: config.port, configure: { [zap] s, role in
            switch role {
            case .actors:
                try s.setRouterMandatory(false)
                try s.setRouterHandover(true)
                // The transport drops (and disconnects) only far larger messages; the decoder
                // rejects and counts everything over maxMessageBytes.
                try s.setMaxMessageSize(Int64(config.maxMessageBytes) * 2)
                try s.setHeartbeat(intervalMs: 1000, timeoutMs: 5000)
            case .broadcast:
                try s.setSendHighWaterMark(config.broadcastQueue)
            case .stats:
                try s.setMaxMessageSize(1 << 20)
            }
            if role != .stats, zap != nil, let secret = config.curveSecretKey {
                try s.makeCurveServer(secretKey: secret)
            }
        }, startHTTP: { httpPort in
            try StatsHTTPServer(host: config.host, port: httpPort, board: board, logger: logger)
        })
        port = sockets.basePort
        registry = ActorRegistry(leases: progress.leases, heartbeatTimeout: config.heartbeatTimeout)
        self.checkpointer = checkpointer
        counters.sessionsStarted = progress.sessionsStarted
        broadcaster = Broadcaster(interval: config.broadcastInterval, every: config.broadcastEvery,
                                  maxStaleness: config.maxStaleness, version: store.version)
        if let aside = movedAside {
            logger.notice("fresh run: old checkpoints moved aside", metadata: ["dir": "\(aside.path)"])
        }
        if let url = resumedFrom {
            logger.info("resumed from checkpoint", metadata: [
                "file": "\(url.path)", "step": "\(store.version)", "epoch": "\(registry.leases.epoch)",
                "target_version": "\(targetVersion)",
            ])
        }
        recordStart(resumedChecksum: checkpointer?.resumedChecksum, skipped: checkpointer?.skipped ?? [])
        logger.info("server listening", metadata: [
            "run_id": "\(String(runId, radix: 16))", "actors": "tcp://\(config.host):\(port)",
            "broadcast": "\(port + 1)", "stats": "\(port + 2)", "metrics": "\(port + 3)",
            "curve": "\(zap != nil)", "step": "\(store.version)",
            "shards": "\(config.shardSizes.count)", "shards_per_lease": "\(config.shardsPerLease)",
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

    /// Ends the run as finished before its epochs (early stopping; safe from any thread):
    /// actors are told the run is finished, the last checkpoint is marked "early-stopped".
    public func finishEarly(_ why: String) { earlyStop.withLock { if $0 == nil { $0 = why } } }

    /// Why the run was stopped early, if it was.
    public var earlyStopReason: String? { earlyStop.current }

    public var isFinished: Bool { leases.finished || earlyStop.current != nil }

    /// The current weights (dense). Only from the server's thread (e.g. in `onUpdate`).
    public func currentWeights() -> [TensorPart] { store.weights(nil) }

    /// Writes a checkpoint now (if a directory is configured and anything changed).
    @discardableResult
    public func checkpoint(force: Bool = false) -> URL? {
        progress.leases = registry.leases
        progress.sessionsStarted = counters.sessionsStarted
        return checkpointer?.write(model: store, progress: progress, settingsJSON: config.settingsJSON,
                                   status: earlyStop.current != nil ? "early-stopped" : nil, extra: config.checkpointExtras,
                                   force: force, logger: logger)
    }

    // MARK: the loop

    /// Serves until every epoch is done or `requestStop()`; then broadcasts pending weights,
    /// checkpoints and says goodbye to the actors.
    public func run() throws {
        var finishedAt: Double?
        let loopCPUStart = threadCPUSeconds()
        while true {
            if stopFlag.current { break }
            if isFinished {
                if finishedAt == nil {
                    finishedAt = monotonicSeconds()
                    flushBroadcast()
                    publish(.bye(.finished))
                    logger.notice("all epochs done", metadata: ["step": "\(store.version)",
                                                                "sessions_started": "\(counters.sessionsStarted)"])
                }
                if monotonicSeconds() - finishedAt! >= config.finishGrace { break }
            }
            let ready = try poll([sockets.router, sockets.stats], timeoutMs: board.wanted ? 0 : 50)
            if ready[0] { try drainRouter() }
            if ready[1] { try serveStats() }
            periodic()
            loopCPUSeconds = threadCPUSeconds() - loopCPUStart
            if board.wanted { board.publish(json: statsJSON(), prometheus: PrometheusText.render(statsDictionary())) }
        }
        flushBroadcast()
        // Forced when early-stopped: the mark must reach disk even if no update came since the last one.
        checkpoint(force: earlyStop.current != nil)
        if !isFinished { publish(.bye(.serverShutdown)) }
        // Give the goodbye a moment to leave (linger applies to the PUB socket only).
        try? sockets.pub.setLinger(500)
        zap?.stop()
        sockets.closeAll()
        context.terminate()  // waits for the linger above; the ports are free afterwards
        record?.write("stop", run: runId, ["version": Int(store.version), "finished": isFinished])
        logger.info("server stopped", metadata: ["step": "\(store.version)", "finished": "\(isFinished)",
                                                 "early_stopped": "\(earlyStop.current ?? "no")"])
    }

    private func periodic() {
        let now = monotonicSeconds()
        counters.sampleRate(at: now)
        let before = registry.leases
        let expired = registry.expire(now: now)
        for (row, shards) in expired {
            counters.actorsTimedOut += 1
            if !shards.isEmpty { counters.leasesReassigned += 1 }
            record?.write("timeout", run: runId, ["actor_id": row.id, "shards": shards.map { Int($0) }])
            logger.warning("actor timed out; shards returned", metadata: ["actor": "\(row.id)", "shards": "\(shards)"])
        }
        if !expired.isEmpty { recordLeaseChanges(from: before, via: "timeout") }
        if broadcaster.dueByTime(now) { flushBroadcast() }
        if checkpointer?.due(now) == true { checkpoint() }
    }

    func reject(_ label: String, _ detail: String) {
        counters.rejected[label, default: 0] += 1
        logger.debug("message rejected", metadata: ["reason": "\(label)", "detail": "\(detail)"])
    }

    // MARK: sending

    func reply(_ identity: [UInt8], _ m: WireMessage) {
        let frames = WireFormat.encode(m, senderRunId: runId, weightVersion: store.version)
        counters.bytesOut += UInt64(frames.reduce(0) { $0 + $1.count })
        _ = try? sockets.router.send([identity] + frames, dontWait: true)
    }

    func publish(_ m: WireMessage) {
        let frames = WireFormat.encode(m, senderRunId: runId, weightVersion: store.version)
        let n = UInt64(frames.reduce(0) { $0 + $1.count })
        counters.bytesOut += n
        counters.broadcasts += 1
        counters.broadcastBytes += n
        _ = try? sockets.pub.send(frames, dontWait: true)
    }

    func flushBroadcast() {
        guard let patch = broadcaster.take(version: store.version, now: monotonicSeconds()) else { return }
        publish(.weights(WeightUpdate(fromVersion: patch.from, toVersion: store.version, full: false,
                                      parts: store.weights(patch.changes), bf16: config.broadcastBF16)))
    }

    func welcome(lease: Lease?) -> WireMessage {
        .welcome(Welcome(runId: runId, weightVersion: store.version, targetVersion: targetVersion,
                         weights: store.weights(nil), target: store.target(),
                         settingsJSON: config.settingsJSON, lease: lease))
    }

    /// Records the changes of an applied gradient and broadcasts when due.
    func noteApplied(_ changes: [String: WeightChange]) {
        broadcaster.record(changes)
        if broadcaster.dueAfterUpdate(version: store.version) { flushBroadcast() }
    }

    /// Counts an applied gradient's work in the target schedule and refreshes when due.
    func advanceTargetSchedule(envSteps: UInt64) {
        guard progress.target.record(steps: Int(envSteps), updates: 1) else { return }
        // Actors copy their own weights at this version, so send the patch that reaches it first.
        flushBroadcast()
        store.refreshTarget()
        publish(.targetRefresh(TargetRefresh(targetVersion: targetVersion, weightVersion: store.version)))
        logger.info("target refreshed", metadata: ["target_version": "\(targetVersion)", "step": "\(store.version)"])
    }
}

extension Double {
    var rounded3: Double { (self * 1000).rounded() / 1000 }
    var rounded6: Double { (self * 1e6).rounded() / 1e6 }
}
