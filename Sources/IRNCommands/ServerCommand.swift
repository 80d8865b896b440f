import ArgumentParser
import Dispatch
import Foundation
import IRNAgents
import IRNData
import IRNEvaluation
import IRNNumerics
import IRNServer
import IRNSupport
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// `irn-server`: the parameter server of the cluster.
public struct ServerCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "irn-server",
        abstract: "Parameter server of the IRN cluster.",
        discussion: """
        Ports: P for actors (join, gradients, leases, heartbeats), P+1 for the weight and \
        target-network broadcast, P+2 for stats as JSON (`irn stats --server tcp://HOST:P`), \
        P+3 for HTTP (`GET /metrics`: Prometheus text; `GET /stats`: JSON). SIGTERM or SIGINT: \
        checkpoint, tell the actors, exit 0. Exits 0 when all epochs are done and the final \
        model is written (--out).

        Learning algorithms (--algo a3c-f, a3c-p, irn-f, irn-p, prn-p, with the agent flags \
        below) train on --data: the server sends every agent setting to the actors when they \
        join, so they compute with the same network, head, rewards and seed. The target \
        network is refreshed every --target-every environment steps summed over all actors \
        (or gradient applications with --target-unit updates).

        Weight traffic: the policy head's gradient is dense, so every update changes most \
        weights. Patches (changed tensors and rows, exact values) are merged and broadcast \
        every --broadcast-interval seconds, at the latest every --broadcast-every updates and \
        every max(1, S/2) updates under --max-staleness S (every update with S = 0, the \
        synchronous check: one actor with --sync).

        `--self-test` runs the cluster on a model that only counts visits instead of an agent \
        (synthetic shards from --sessions and --shards, no --data): each session's counter must \
        end at exactly --epochs (exit 3 otherwise). Actors need no flag: they learn it from \
        the server.
        """
    )

    @Option(help: "Prepared data directory (for the learning algorithms; the actors need the same data).")
    var data: String?

    @Flag(help: "Run the cluster self-test (a visit-counting model, no --data) instead of an agent.")
    var selfTest = false

    @OptionGroup(title: "Agent") var agent: AgentOptions

    @OptionGroup(title: "Training set") var trainingSet: TrainingSetOptions
    @OptionGroup(title: "Push compression") var push: PushOptions

    @Option(help: "Interface to bind (127.0.0.1, 0.0.0.0, *).")
    var host = "127.0.0.1"

    @Option(help: "Base port P (uses P...P+3).")
    var port = 5555

    @Option(help: "Directory for checkpoints; the server resumes from the newest good one.")
    var checkpointDir: String?

    @Option(help: "Seconds between checkpoints (also written on SIGTERM and at the end).")
    var checkpointEvery: Double = 600

    @Option(help: "Checkpoints to keep.")
    var keepCheckpoints = 3

    @Flag(help: "Start a new run even if --checkpoint-dir holds checkpoints (they are moved to CHECKPOINT_DIR/replaced-<n>/).")
    var fresh = false

    @Flag(help: "Resume the run in --checkpoint-dir; fail when there is no checkpoint or the run there is finished. Without --fresh or --resume an unfinished run is resumed and a finished one refused.")
    var resume = false

    @Option(help: "Final model: best (the best evaluation on --eval-split by --valid-metric, written as soon as it is evaluated) or last (the weights at the end). Default: best with --eval-split valid, last with test (picking the best on test would flatter the test figure).")
    var keep: String?

    @Option(help: "Stop early (as finished) after this many background evaluations (--eval-every) without a better --valid-metric (0: never).")
    var patience = 0

    @Option(name: .customLong("valid-metric"), help: "Figure --keep best and --patience watch on --eval-split: <purchase|click|first>-<recall|mrr>@K (K in 3, 5, 10, 20).")
    var validMetric = "purchase-recall@5"

    @Option(help: "Final model file (safetensors with the agent settings; default: CHECKPOINT_DIR/model.safetensors, or ./irn-model.safetensors).")
    var out: String?

    @Option(help: "Drop gradients computed on weights more than S versions old (default: keep all).")
    var maxStaleness: UInt64?

    @Option(help: "Epochs over the training sessions.")
    var epochs: UInt32 = 1

    @Option(help: "Shards leased at once to one actor: auto (the fewest shards holding 8 x --batch sessions on average, so that an actor's slots stay full and few windows drain at a lease's end), a count, or 0 (all shards in one lease, the order of single-process training).")
    var shardsPerLease: LeaseSize = .auto

    @Option(help: "Seconds without a heartbeat after which an actor's shards go to others.")
    var heartbeatTimeout: Double = 10

    @Option(help: "Minimum seconds between weight broadcasts (0: after every update; patches in between are merged). Default 0.1 for the learning algorithms, 0 for the self-test.")
    var broadcastInterval: Double?

    @Option(help: "Broadcast at the latest after this many updates (0: no bound).")
    var broadcastEvery: UInt64 = 0

    @Option(help: "Broadcasts queued per subscriber before it misses some and resyncs by fetching the full weights (bounds the memory a stalled actor costs the server).")
    var broadcastQueue: Int32 = 16

    @Option(help: "Evaluate every N updates in the background (0: only at the end).")
    var evalEvery: UInt64 = 0

    @Option(help: "Evaluation split: valid or test.")
    var evalSplit = "valid"

    @Option(help: "Threads for Adam and the evaluation's matrix products (OpenBLAS and row-parallel loops).")
    var threads = 1

    @Option(help: "Threads of the background evaluation.")
    var evalThreads = 1

    @Flag(help: "No evaluation at the end either.")
    var noEval = false

    @Option(help: "File with the server's CURVE secret key (enables CURVE; see irn curve-keygen).")
    var curveSecretKey: String?

    @Option(help: "File of allowed actor public keys, one per line (default with CURVE: any actor knowing the server key).")
    var curveAllowedKeys: String?

    @Option(help: "--self-test: number of synthetic sessions.")
    var sessions = 1000

    @Option(help: "--self-test: number of shards.")
    var shards = 16

    @Option(help: "Append a JSON-lines record of leases, commits, applied and refused gradients and checkpoints to FILE (for scripts/chaos-check; see docs/chaos.md).")
    var record: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel = "info"

    public init() {}

    public func validate() throws {
        guard broadcastQueue >= 1 else { throw ValidationError("--broadcast-queue must be at least 1, got \(broadcastQueue)") }
        guard (1...65532).contains(port) else { throw ValidationError("--port must be in 1...65532 (P+3 must be a port too)") }
        guard epochs >= 1, heartbeatTimeout > 0, checkpointEvery > 0 else {
            throw ValidationError("--epochs, --heartbeat-timeout and --checkpoint-every must be positive")
        }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log-level \(logLevel)") }
        if curveAllowedKeys != nil && curveSecretKey == nil {
            throw ValidationError("--curve-allowed-keys needs --curve-secret-key")
        }
        guard ["valid", "test"].contains(evalSplit) else { throw ValidationError("--eval-split is valid or test") }
        if fresh && resume { throw ValidationError("--fresh and --resume exclude each other") }
        if (fresh || resume) && checkpointDir == nil { throw ValidationError("--fresh and --resume need --checkpoint-dir") }
        if let k = keep, BestModelKeeper.Keep(rawValue: k) == nil { throw ValidationError("--keep is best or last, got '\(k)'") }
        guard patience >= 0 else { throw ValidationError("--patience must be >= 0") }
        if patience > 0 && evalEvery == 0 { throw ValidationError("--patience counts background evaluations: it needs --eval-every N") }
        let metric = try ValidationMetric(parsing: validMetric)
        guard [3, 5, 10, 20].contains(metric.cutoff) else { throw ValidationError("--valid-metric cut-off must be 3, 5, 10 or 20, got \(metric.cutoff)") }
        if !selfTest && data == nil { throw ValidationError("--algo \(agent.algo.rawValue) needs --data DIR (a prepared data set)") }
    }

    public func run() throws {
        let logger = bootstrapLogging(label: "irn.server", level: logLevel)
        BLAS.setThreads(max(1, threads))
        var config = ServerConfig()
        config.host = host
        config.port = port
        config.epochs = epochs
        config.maxStaleness = maxStaleness
        config.heartbeatTimeout = heartbeatTimeout
        config.checkpointDirectory = checkpointDir.map { URL(fileURLWithPath: $0) }
        config.checkpointEvery = checkpointEvery
        config.recordFile = record.map { URL(fileURLWithPath: $0) }
        config.keepCheckpoints = keepCheckpoints
        config.start = fresh ? .fresh : resume ? .resume : .auto
        config.targetEvery = agent.targetEvery
        config.targetUnit = agent.targetUnit
        config.broadcastInterval = broadcastInterval ?? (selfTest ? 0 : 0.1)
        config.broadcastEvery = broadcastEvery
        config.broadcastQueue = broadcastQueue
        ProcessMemory.returnLargeBlocksToSystem()
        if let f = curveSecretKey {
            config.curveSecretKey = try CurveKeyFiles.singleKey(in: f)
            config.curveAllowedKeys = try curveAllowedKeys.map { Set(try CurveKeyFiles.keys(in: $0)) }
        }
        if selfTest {
            try runSelfTest(config, logger: logger)
        } else {
            try runAgent(config, logger: logger)
        }
    }

    private func runSelfTest(_ base: ServerConfig, logger: Logger) throws {
        var config = base
        guard sessions >= 1, shards >= 1 else { throw ValidationError("--sessions and --shards must be positive") }
        let sizes = (0..<shards).map { UInt64(sessions / shards + ($0 < sessions % shards ? 1 : 0)) }
        config.shardSizes = sizes
        config.shardsPerLease = shardsPerLease.shards(of: sizes, slots: 1)
        config.settingsJSON = "{\"algo\":\"visit-count\",\"shard_sizes\":[\(sizes.map(String.init).joined(separator: ","))]}"
        let store = VisitCountStore(sessions: sessions)
        let server = try ParameterServer(config: config, store: store, logger: logger)
        try serve(server)
        if server.isFinished {
            if let problem = store.check(epochs: Int(epochs)) {
                logger.critical("self-test failed", metadata: ["problem": "\(problem)"])
                throw ExitCode(3)
            }
            logger.notice("self-test passed: every session visited exactly \(epochs) time(s)",
                          metadata: ["sessions": "\(sessions)", "updates": "\(store.version)"])
        }
    }

    private func runAgent(_ base: ServerConfig, logger: Logger) throws {
        var config = base
        let dir = URL(fileURLWithPath: data!)
        let dataset = try PreparedDataset.load(from: dir)
        var agentConfig = try agent.config(items: dataset.itemCount)
        let split = trainingSet.split(evaluatingOn: evalSplit)
        // Repeat-next head: the table's split and checksum go to the actors in the welcome.
        try agentConfig.attachTransitions(from: dataset, split: split)
        let trainSet = dataset.sessions(of: split)
        guard trainSet.count > 0 else {
            throw IRNError("training split \(split.rawValue) of \(dir.path) holds no sessions")
        }
        let sizes = (0..<dataset.shardCount).map { dataset.sessionIndices(of: trainSet, shards: [$0]).count }
        config.shardSizes = sizes.map { UInt64($0) }
        config.shardsPerLease = shardsPerLease.shards(of: config.shardSizes, slots: agentConfig.slots)
        var settings = ClusterSettings(algo: agentConfig.algorithm.rawValue, agent: agentConfig)
        settings.trainSplit = split
        settings.density = trainingSet.rewardDensity
        settings.items = dataset.itemCount
        settings.shardCount = dataset.shardCount
        settings.shardSizes = sizes
        settings.dataFingerprint = dataset.fingerprint
        settings.dataPath = dir.path
        push.apply(to: &settings)
        push.apply(to: &config)
        config.settingsJSON = settings.json()
        config.checkpointExtras = ["server.item_ids": SafetensorsTensor(int64s: dataset.itemIds, shape: [dataset.itemCount])]

        let store = AgentStore(config: agentConfig)
        let server = try ParameterServer(config: config, store: store, logger: logger)
        let modelURL = URL(fileURLWithPath: out ?? (checkpointDir.map { "\($0)/model.safetensors" } ?? "irn-model.safetensors"))
        let evalSet = evalSplit == "valid" ? dataset.valid : dataset.test
        let evaluator = BackgroundEvaluator(sessions: evalSet, split: evalSplit,
                                            options: EvaluationOptions(threads: evalThreads), logger: logger)
        let runs = ClusterRunOutputs(model: modelURL, settings: settings, itemIds: dataset.itemIds, split: evalSplit,
                                     metric: try ValidationMetric(parsing: validMetric), keep: keepMode,
                                     patience: patience == 0 ? nil : patience, resumed: server.resumedFrom != nil, logger: logger)
        let stopReason = "no better \(runs.keeper.metricKey) in \(patience) evaluations"
        if evalEvery > 0 && evalSet.count > 0 {
            server.onUpdate = { [evaluator, store, runs] server, version in
                guard version % evalEvery == 0 else { return }
                // A copy of the weights (copy-on-write: the next update copies the server's own).
                let weights = store.evaluationParameters
                evaluator.start(weights, step: version) { [weak server] m in
                    server?.setEvalMetrics(m)
                    if runs.record(m, parameters: weights, step: version, final: false) { server?.finishEarly(stopReason) }
                }
            }
        }
        logger.info("agent", metadata: ["algo": "\(agentConfig.algorithm.rawValue)", "items": "\(dataset.itemCount)",
                                        "hidden": "\(agentConfig.hidden)", "batch": "\(agentConfig.slots)",
                                        "head": "\(agentConfig.head)", "train_split": "\(split.rawValue)",
                                        "train_sessions": "\(trainSet.count)", "shards": "\(dataset.shardCount)"])
        try serve(server)
        evaluator.wait()
        guard server.isFinished else { return }
        if let why = server.earlyStopReason { logger.notice("early-stopped", metadata: ["reason": "\(why)", "step": "\(store.version)"]) }
        var finalMetrics: [String: Double]?
        if !noEval && evalSet.count > 0 {
            let m = try evaluator.evaluate(store.evaluationParameters, step: store.version)
            let keys = m.keys.filter { $0.contains("recall@5") || $0.contains("mrr@5") }.sorted()
            logger.notice("final evaluation", metadata: Logger.Metadata(uniqueKeysWithValues: keys.map { ($0, "\(m[$0]!)") }))
            _ = runs.record(m, parameters: store.evaluationParameters, step: store.version, final: true)
            finalMetrics = m
        }
        let written = try runs.finish(parameters: store.evaluationParameters, step: store.version, epochs: Int(epochs), finalMetrics: finalMetrics)
        logger.notice("final model written", metadata: ["file": "\(modelURL.path)", "keep": "\(keepMode.rawValue)", "step": "\(written.step)",
                                                        "history": "\(runs.history.csvURL.path)"])
        if let m = written.metrics {
            // The evaluation of the model in the file (the best one under --keep best).
            let json = (try? JSONSerialization.data(withJSONObject: m, options: [.sortedKeys])) ?? Data()
            try AtomicFile.write(json, to: modelURL.deletingPathExtension().appendingPathExtension("eval.json"))
        }
    }

    /// --keep, or its default for the evaluation split: selecting on test would make the test
    /// figure of the kept model optimistic, so test keeps the last weights unless told otherwise.
    var keepMode: BestModelKeeper.Keep {
        keep.flatMap(BestModelKeeper.Keep.init(rawValue:)) ?? (evalSplit == "valid" ? .best : .last)
    }

    /// Runs the server until it finishes or a SIGTERM/SIGINT asks it to stop.
    private func serve(_ server: ParameterServer) throws {
        let signals = installStopSignals { server.requestStop() }
        defer { signals.forEach { $0.cancel() } }
        try server.run()
    }
}

/// Routes SIGTERM and SIGINT to `action` (on a dispatch queue, not in signal context).
func installStopSignals(_ action: @escaping @Sendable () -> Void) -> [DispatchSourceSignal] {
    [SIGTERM, SIGINT].map { sig in
        signal(sig, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
        source.setEventHandler(handler: action)
        source.resume()
        return source
    }
}

/// One line per event on standard error, with levels.
func bootstrapLogging(label: String, level: String) -> Logger {
    let lvl = Logger.Level(rawValue: level) ?? .info
    LoggingSystem.bootstrap { label in
        var h = StreamLogHandler.standardError(label: label)
        h.logLevel = lvl
        return h
    }
    var logger = Logger(label: label)
    logger.logLevel = lvl
    return logger
}

/// `--shards-per-lease`: auto, a count, or 0 (every shard).
enum LeaseSize: ExpressibleByArgument, Equatable {
    case auto, count(Int)

    init?(argument: String) {
        if argument == "auto" { self = .auto; return }
        guard let n = Int(argument), n >= 0 else { return nil }
        self = .count(n)
    }

    var defaultValueDescription: String { if case .count(let n) = self { "\(n)" } else { "auto" } }

    /// The shards per lease for these shard sizes and actor slots.
    func shards(of sizes: [UInt64], slots: Int) -> Int {
        switch self {
        case .auto: LeaseManager.autoShardsPerLease(shardSizes: sizes, slots: slots)
        case .count(0): max(1, sizes.count)
        case .count(let n): n
        }
    }
}
