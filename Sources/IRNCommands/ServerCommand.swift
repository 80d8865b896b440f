import ArgumentParser
import Dispatch
import Foundation
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
        checkpoint is written.

        Algorithms: `visit-count` is the cluster self-test (synthetic shards from --sessions \
        and --shards; each session's counter must end at exactly --epochs; exit 3 otherwise). \
        The learning algorithms (a3c-f, a3c-p, irn-f, irn-p, prn-p) are not wired into the \
        cluster in this build.
        """
    )

    @Option(help: "Prepared data directory (for the learning algorithms).")
    var data: String?

    @Option(help: "Algorithm: visit-count (self-test); a3c-f, a3c-p, irn-f, irn-p, prn-p.")
    var algo: String

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

    @Option(help: "Drop gradients computed on weights more than S versions old (default: keep all).")
    var maxStaleness: UInt64?

    @Option(help: "Epochs over the training sessions.")
    var epochs: UInt32 = 1

    @Option(help: "Shards leased at once to one actor.")
    var shardsPerLease = 1

    @Option(help: "Seconds without a heartbeat after which an actor's shards go to others.")
    var heartbeatTimeout: Double = 10

    @Option(help: "Target network refresh period (0: never), in --target-unit.")
    var targetEvery: UInt64 = 500

    @Option(help: "Unit of --target-every: steps (environment steps summed over actors) or updates.")
    var targetUnit = "steps"

    @Option(help: "Minimum seconds between weight broadcasts (0: after every update; patches in between are merged).")
    var broadcastInterval: Double = 0

    @Option(help: "File with the server's CURVE secret key (enables CURVE; see irn curve-keygen).")
    var curveSecretKey: String?

    @Option(help: "File of allowed actor public keys, one per line (default with CURVE: any actor knowing the server key).")
    var curveAllowedKeys: String?

    @Option(help: "visit-count: number of synthetic sessions.")
    var sessions = 1000

    @Option(help: "visit-count: number of shards.")
    var shards = 16

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel = "info"

    public init() {}

    public func validate() throws {
        guard (1...65532).contains(port) else { throw ValidationError("--port must be in 1...65532 (P+3 must be a port too)") }
        guard ServerConfig.TargetUnit(rawValue: targetUnit) != nil else { throw ValidationError("--target-unit is steps or updates") }
        guard epochs >= 1, shardsPerLease >= 1, heartbeatTimeout > 0, checkpointEvery > 0 else {
            throw ValidationError("--epochs, --shards-per-lease, --heartbeat-timeout and --checkpoint-every must be positive")
        }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log-level \(logLevel)") }
        if curveAllowedKeys != nil && curveSecretKey == nil {
            throw ValidationError("--curve-allowed-keys needs --curve-secret-key")
        }
    }

    public func run() throws {
        let logger = bootstrapLogging(label: "irn.server", level: logLevel)
        var config = ServerConfig()
        config.host = host
        config.port = port
        config.epochs = epochs
        config.shardsPerLease = shardsPerLease
        config.maxStaleness = maxStaleness
        config.heartbeatTimeout = heartbeatTimeout
        config.checkpointDirectory = checkpointDir.map { URL(fileURLWithPath: $0) }
        config.checkpointEvery = checkpointEvery
        config.keepCheckpoints = keepCheckpoints
        config.targetEvery = targetEvery
        config.targetUnit = ServerConfig.TargetUnit(rawValue: targetUnit)!
        config.broadcastInterval = broadcastInterval
        if let f = curveSecretKey {
            config.curveSecretKey = try CurveKeyFiles.singleKey(in: f)
            config.curveAllowedKeys = try curveAllowedKeys.map { Set(try CurveKeyFiles.keys(in: $0)) }
        }

        switch algo {
        case "visit-count":
            guard sessions >= 1, shards >= 1 else { throw ValidationError("--sessions and --shards must be positive") }
            let sizes = (0..<shards).map { UInt64(sessions / shards + ($0 < sessions % shards ? 1 : 0)) }
            config.shardSizes = sizes
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
        case "a3c-f", "a3c-p", "irn-f", "irn-p", "prn-p":
            throw IRNError("--algo \(algo): the learning models are not wired into irn-server in this build (use irn train; the cluster runs --algo visit-count)")
        default:
            throw ValidationError("unknown --algo \(algo)")
        }
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
