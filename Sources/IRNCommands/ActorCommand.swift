import ArgumentParser
import Foundation
import IRNActor
import IRNData
import IRNNumerics
import IRNSupport
import Logging
import ZeroMQ

/// `irn-actor`: one actor of the cluster.
public struct ActorCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "irn-actor",
        abstract: "Actor of the IRN cluster.",
        discussion: """
        Joins the server, receives the current weights and target network, leases shards, \
        pushes gradients, follows the weight broadcast (P+1) and rejoins by itself when the \
        server restarts. SIGTERM or SIGINT: returns the lease, says goodbye, exits 0. Exits 0 \
        when the server reports all epochs done. Exits 1, with the reason on one stderr line, when --data \
        is not a prepared data set (checked before connecting), when it cannot use the \
        server's settings (--data is not the server's prepared data, or --data is missing for \
        a learning algorithm), or when --connect-attempts run out; 2 on a bad flag. While the \
        server does not answer it logs "no answer from ... after N s, retrying" every \
        --connect-timeout seconds.

        The algorithm and every agent setting come from the server (its Welcome): the actor \
        runs the session-parallel environment on its leased shards of --data (the same \
        prepared data set as the server's) and pushes the gradients of the server's agent. \
        With `--sync` (and the server's --max-staleness 0) one actor reproduces \
        single-process training.
        """
    )

    @Option(help: "The server's actor endpoint, tcp://HOST:P.")
    var server: String

    @Option(help: "Prepared data directory (for the learning algorithms).")
    var data: String?

    @Option(help: "Threads for the gradient computation (OpenBLAS and row-parallel loops; 1 = single-threaded, bit-reproducible).")
    var threads: UInt32 = 1

    @Option(help: "Name shown in the server's stats (default: HOST-PID).")
    var id: String?

    @Option(help: "Seconds between heartbeats.")
    var heartbeat: Double = 1

    @Option(help: "Pushes in flight before waiting for acknowledgements (2: compute the next gradient while the server applies the last; --sync waits for every one).")
    var maxInFlight = 2

    @Flag(help: "Before each gradient, wait for the weights of every acknowledged push (synchronous mode).")
    var sync = false

    @Option(help: "Shards to ask for per lease (0: the server's --shards-per-lease).")
    var shardsPerLease: UInt32 = 0

    @Option(help: "File with the server's CURVE public key (enables CURVE).")
    var curveServerKey: String?

    @Option(help: "File with this actor's CURVE secret key (the public key is derived from it).")
    var curveSecretKey: String?

    @Option(help: "Seconds of simulated extra work per gradient (tests and demos of scaling; visit-count: per session).")
    var selftestDelay: Double = 0

    @Option(help: "Seconds to wait for the server's answer to a join before logging it and trying again.")
    var connectTimeout: Double = 10

    @Option(help: "Join attempts of --connect-timeout seconds before giving up with exit 1 (0: keep trying; an actor started before its server waits for it).")
    var connectAttempts = 0

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel = "info"

    public init() {}

    public func validate() throws {
        guard server.hasPrefix("tcp://") else { throw ValidationError("--server must look like tcp://HOST:PORT") }
        guard heartbeat > 0, maxInFlight >= 1, threads >= 1 else {
            throw ValidationError("--heartbeat, --max-in-flight and --threads must be positive")
        }
        guard (curveServerKey == nil) == (curveSecretKey == nil) else {
            throw ValidationError("CURVE needs both --curve-server-key and --curve-secret-key")
        }
        guard connectTimeout > 0, connectAttempts >= 0 else {
            throw ValidationError("--connect-timeout must be positive and --connect-attempts >= 0")
        }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log-level \(logLevel)") }
    }

    public func run() throws {
        // A wrong --data fails now, not after the server answers (or never does).
        if let data { try Self.checkPreparedData(data) }
        let logger = bootstrapLogging(label: "irn.actor", level: logLevel)
        BLAS.setThreads(Int(threads))
        ProcessMemory.returnLargeBlocksToSystem()
        let hostName = ProcessInfo.processInfo.hostName
        var config = ActorConfig(server: server, actorId: id ?? "\(hostName)-\(getpid())", host: hostName)
        config.threads = threads
        config.heartbeatInterval = heartbeat
        config.maxInFlight = maxInFlight
        config.syncWeights = sync
        config.shardsPerLease = shardsPerLease
        config.connectTimeout = connectTimeout
        config.connectAttempts = connectAttempts
        if let sk = curveServerKey, let mine = curveSecretKey {
            let pair = try CurveKeyPair(secretKey: try CurveKeyFiles.singleKey(in: mine))
            config.curve = (try CurveKeyFiles.singleKey(in: sk), pair.publicKey, pair.secretKey)
        }
        // The producer follows the server's algorithm (told on joining).
        let producer = SettingsProducer(dataDirectory: data.map { URL(fileURLWithPath: $0) }, selfTestDelay: selftestDelay)
        let client = try ActorClient(config: config, producer: producer, logger: logger)
        let signals = installStopSignals { client.requestStop() }
        defer { signals.forEach { $0.cancel() } }
        let outcome = try client.run()
        let c = client.counts
        logger.notice("actor done", metadata: ["outcome": "\(outcome)", "pushes": "\(c.pushes)", "applied": "\(c.applied)",
                                              "stale": "\(c.stale)", "joins": "\(c.joins)"])
        if let (message, status) = Self.exitStatus(for: outcome) {
            printError(message)
            throw ExitCode(status)
        }
    }

    /// A directory written by `irn data prepare` (its binary file is there); the full check
    /// against the server's data set follows the Welcome.
    static func checkPreparedData(_ path: String) throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw IRNError("--data: no such directory", file: path)
        }
        guard isDir.boolValue else { throw IRNError("--data: not a directory (give the directory `irn data prepare --out` wrote)", file: path) }
        guard FileManager.default.fileExists(atPath: URL(fileURLWithPath: path).appendingPathComponent(PreparedDataset.binaryName).path) else {
            throw IRNError("--data: not a prepared data set (no \(PreparedDataset.binaryName); run `irn data prepare` first)", file: path)
        }
    }

    /// The one-line message and exit status of an outcome that must not end with status 0.
    public static func exitStatus(for outcome: ActorClient.Outcome) -> (message: String, status: Int32)? {
        switch outcome {
        case .refusedSettings(let reason):
            return ("irn-actor: cannot use the server's settings: \(reason)", 1)
        case .finished, .stopped, .abandoned:
            return nil
        }
    }
}
