import ArgumentParser
import Foundation
import IRNActor
import IRNAgents
import IRNNumerics
import IRNServer
import IRNSupport
import IRNWire
import Logging

/// `irn bench server`: the parameter server under simulated actors pushing a real gradient.
struct BenchServerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "server",
        abstract: "Gradient applications/s of irn-server under simulated actors (real sockets, real gradient).",
        discussion: """
        One real IRN gradient at the given scale (default: the paper's, 9167 items, 256 units, \
        batch 128) is computed once by GradientWorker on synthetic windows. Then an in-process \
        server (AgentStore: decode, Adam, patches, broadcast) serves --actors simulated actors \
        over loopback TCP: each is a real ActorClient (joins, follows the weight broadcast into \
        its replica, heartbeats) that pushes that gradient again as soon as its previous push is \
        acknowledged. Prints gradient applications/s over --seconds, bytes per push against the \
        gradient's non-zero payload, weight-broadcast bytes per update (per subscriber), and the \
        staleness median and 95th percentile. The server loop is one thread; the actors share \
        the machine's cores with it, so on a small machine the wall-clock rate is bounded by the \
        actors' own work: the serving thread's CPU time per application (from the server's \
        loop_cpu_s stat) gives what one dedicated server core sustains. Build with -c release.
        """
    )

    @Option(help: "Simulated actors.")
    var actors = 8
    @Option(help: "Number of items N.")
    var items = 9167
    @OptionGroup var agent: AgentOptions
    @OptionGroup(title: "Push compression") var push: PushOptions
    @Option(help: "Seconds measured (after the actors joined and one second of warm-up).")
    var seconds = 10.0
    @Option(help: "Server --broadcast-interval (seconds; 0: after every update; irn-server's default is 0.1).")
    var broadcastInterval = 0.1
    @Option(help: "Server --broadcast-every (updates; 0: no bound).")
    var broadcastEvery: UInt64 = 0
    @Option(help: "Server --max-staleness (default: none).")
    var maxStaleness: UInt64?
    @Option(help: "Pushes in flight per actor.")
    var maxInFlight = 1
    @Option(name: .customLong("purchase-share"), help: "Share of synthetic targets that are purchases.")
    var purchaseShare = 0.1
    @Option(help: "OpenBLAS / row-parallel threads (the server's Adam and the one gradient computation).")
    var threads = 1
    @Flag(help: "Print one JSON object.")
    var json = false

    func run() throws {
        guard actors >= 1, seconds > 0 else { throw ValidationError("--actors and --seconds must be positive") }
        var config = try agent.config(items: items)
        if config.head.hasNext { try config.head.attach(BenchStepWindows.transitions(config: config, seed: config.seed &+ 29), split: "synthetic") }
        BLAS.setThreads(max(1, threads))
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = .warning
            return h
        }
        var quiet = Logger(label: "bench")
        quiet.logLevel = .warning

        // One real push: --push-windows real window gradients summed (and rounded) as an actor does.
        let windows = BenchStepWindows.make(config: config, count: push.pushWindows, purchaseShare: purchaseShare, meanSession: 9, seed: config.seed &+ 17)
        let worker = try GradientWorker(config: config)
        let params = config.initialParameters()
        var g = NetworkGradient(shape: config.shape)
        var accumulator = PushAccumulator()
        accumulator.rank = push.pushRowsRank
        var eventsPerPush = 0
        for window in windows {
            eventsPerPush += try worker.computeGradient(window, parameters: params, target: params, into: &g).activeSteps
            accumulator.add(g.wireParts)
        }
        let bf16 = push.pushPrecision == .bf16
        var settings = ClusterSettings(algo: "bench", agent: config)
        push.apply(to: &settings)
        let taken = settings.pushesWindowsUntouched ? PushAccumulator.Push(parts: g.wireParts)
            : accumulator.take(precision: push.pushPrecision, rowFraction: push.pushRows,
                               minRows: push.pushRowsScope.minRows(items: config.shape.items), otherFraction: push.pushRowsOther)
        let parts = taken.parts
        // One push from a fresh accumulator waited for nothing; in the steady state of a row
        // budget f a row waits about 1 / f pushes, which the server's Adam then takes as steps.
        let rowSteps = push.deferredRows != .once ? taken.rowSteps.mapValues { $0.map { _ in Int32(max(1, (1 / push.pushRows).rounded())) } } : [:]
        // `moments`: a square ratio per row too (its value does not change the cost).
        let rowSquareRatios = push.deferredRows == .moments ? rowSteps.mapValues { $0.map { _ in Float(2) } } : [:]
        let envSteps = UInt64(config.window * push.pushWindows)
        let nonZeroPayload = parts.reduce(0) { acc, p in
            let nz = p.values.reduce(0) { $0 + ($1 != 0 ? 1 : 0) }
            return acc + nz * 4 + (p.rows?.count ?? 0) * 4
        }
        let denseBytes = config.shape.parameterGroups.reduce(0) { $0 + $1.count(config.shape) * 4 }
        let pushBytes = WireFormat.encode(.gradient(GradientPush(sequence: 1, envSteps: envSteps, leaseId: 1,
                                                                  progress: [ShardProgress(shard: 0, done: 1, total: 1 << 40)],
                                                                  stats: ["loss": 1, "events": Double(eventsPerPush)], parts: parts, bf16: bf16,
                                                                  rowSteps: rowSteps, rowSquareRatios: rowSquareRatios)),
                                          senderRunId: 1, weightVersion: 1).reduce(0) { $0 + $1.count }

        // The server's work per gradient without sockets: decode, apply (Adam), patch encode.
        let pushFrames = WireFormat.encode(.gradient(GradientPush(sequence: 1, envSteps: envSteps, parts: parts, bf16: bf16, rowSteps: rowSteps,
                                                                   rowSquareRatios: rowSquareRatios)),
                                           senderRunId: 1, weightVersion: 1)
        let probe = AgentStore(config: config)
        var tDecode = 0.0, tApply = 0.0, tPatch = 0.0, tEncode = 0.0
        let probeRounds = 10
        for _ in 0..<probeRounds {
            let a = monotonicSeconds()
            // As the server does it: tensors checked and read in place, Adam straight from them.
            let (env, views) = try WireFormat.decodeBorrowingTensors(pushFrames, maxBytes: 1 << 30)
            guard case .gradient = env.message, !views.isEmpty else { throw IRNError("probe decode") }
            let b = monotonicSeconds()
            let changed = try probe.apply(views: views)
            let c = monotonicSeconds()
            let patch = probe.weights(changed)
            let d = monotonicSeconds()
            _ = WireFormat.encode(.weights(WeightUpdate(fromVersion: 0, toVersion: 1, full: false, parts: patch, bf16: push.broadcastPrecision == .bf16)), senderRunId: 1)
            let e = monotonicSeconds()
            tDecode += b - a; tApply += c - b; tPatch += d - c; tEncode += e - d
        }
        let ms = { (x: Double) in (x / Double(probeRounds) * 1e5).rounded() / 100 }

        // Server: one shard per actor, too long to finish.
        var sc = ServerConfig()
        sc.port = 0
        sc.shardSizes = Array(repeating: 1 << 40, count: actors)
        sc.epochs = 1
        sc.heartbeatTimeout = 30
        sc.broadcastInterval = broadcastInterval
        sc.broadcastEvery = broadcastEvery
        sc.maxStaleness = maxStaleness
        sc.useTargetSchedule(of: config)
        push.apply(to: &sc)
        sc.settingsJSON = settings.json()
        let store = AgentStore(config: config)
        let server = try ParameterServer(config: sc, store: store, logger: quiet)
        let serverDone = DispatchSemaphore(value: 0)
        let serverThread = Thread {
            do { try server.run() } catch { printError("server stopped: \(error)") }
            serverDone.signal()
        }
        serverThread.start()

        var clients: [ActorClient] = []
        let group = DispatchGroup()
        for i in 0..<actors {
            var ac = ActorConfig(server: "tcp://127.0.0.1:\(server.port)", actorId: "sim\(i)", host: "loopback")
            ac.maxInFlight = maxInFlight
            ac.ackTimeout = 60
            ac.serverSilenceTimeout = 120
            let c = try ActorClient(config: ac, producer: FixedGradientProducer(parts: parts, envSteps: envSteps, events: eventsPerPush, bf16: bf16, rowSteps: rowSteps,
                                                                                             rowSquareRatios: rowSquareRatios), logger: quiet)
            clients.append(c)
            group.enter()
            let t = Thread { _ = try? c.run(); group.leave() }
            t.start()
        }
        let endpoint = "tcp://127.0.0.1:\(server.port)"
        func stats() throws -> [String: Any] {
            try JSONSerialization.jsonObject(with: Data(try StatsClient.fetch(server: endpoint, timeoutSeconds: 10).utf8)) as! [String: Any]
        }
        let joinDeadline = monotonicSeconds() + 120
        while clients.contains(where: { $0.counts.pushes == 0 }) {
            guard monotonicSeconds() < joinDeadline else { throw IRNError("simulated actors did not all start pushing within 120 s") }
            Thread.sleep(forTimeInterval: 0.05)
        }
        Thread.sleep(forTimeInterval: 1)
        let s0 = try stats(), t0 = monotonicSeconds()
        Thread.sleep(forTimeInterval: seconds)
        let s1 = try stats(), t1 = monotonicSeconds()
        // Actors first, their sockets closed while the server still reads, then the server:
        // closing both ends at once with multi-part messages in flight can trip a libzmq
        // assertion (session_base.cpp clean_pipes, "Resource temporarily unavailable", libzmq
        // issue 3442); it aborted 2 of ~30 runs here.
        for c in clients { c.requestStop() }
        _ = group.wait(timeout: .now() + 10)
        clients.removeAll()
        Thread.sleep(forTimeInterval: 0.2)
        server.requestStop()
        _ = serverDone.wait(timeout: .now() + 10)

        func n(_ s: [String: Any], _ k: String) -> Double { Double(s[k] as? Int ?? 0) }
        let applied = n(s1, "applied") - n(s0, "applied")
        let rate = applied / (t1 - t0)
        // The serving thread's own CPU time: what one dedicated server core could sustain,
        // whatever the simulated actors (sharing this machine's cores) leave it.
        let loopCPU = (s1["loop_cpu_s"] as? Double ?? 0) - (s0["loop_cpu_s"] as? Double ?? 0)
        let cpuPerApplication = applied > 0 ? loopCPU / applied : 0
        let oneCore = cpuPerApplication > 0 ? 1 / cpuPerApplication : 0
        let loopShare = loopCPU / (t1 - t0)
        let bcast = n(s1, "broadcast_bytes") - n(s0, "broadcast_bytes")
        let broadcasts = n(s1, "broadcasts") - n(s0, "broadcasts")
        let perUpdate = applied > 0 ? bcast / applied : 0
        let st = s1["staleness"] as? [String: Int] ?? [:]
        // Per environment event over the measured interval (the server's counters).
        let events = n(s1, "events") - n(s0, "events")
        let pushPerEvent = events > 0 ? (n(s1, "push_bytes") - n(s0, "push_bytes")) / events : 0
        let bcastPerEvent = events > 0 ? bcast / events : 0
        let result: [String: Any] = [
            "actors": actors, "items": config.items, "hidden": config.hidden, "batch": config.slots, "algo": config.algorithm.rawValue,
            "seconds": ((t1 - t0) * 1000).rounded() / 1000, "applications": Int(applied), "applications_per_s": (rate * 1000).rounded() / 1000,
            "server_loop_cpu_ms_per_application": (cpuPerApplication * 1e5).rounded() / 100,
            "applications_per_server_core_s": (oneCore * 10).rounded() / 10,
            "applications_per_core_second": (oneCore * 10).rounded() / 10,
            "events_per_push": eventsPerPush, "push_windows": push.pushWindows, "push_precision": push.pushPrecision.rawValue, "push_rows": push.pushRows, "deferred_rows": push.deferredRows.rawValue, "push_rows_scope": push.pushRowsScope.rawValue, "push_rows_other": push.pushRowsOther, "push_rows_rank": push.pushRowsRank.rawValue, "broadcast_precision": push.broadcastPrecision.rawValue,
            "events_per_core_second": (oneCore * Double(eventsPerPush)).rounded(),
            "events_per_s": (rate * Double(eventsPerPush)).rounded(),
            "push_bytes_per_event": (pushPerEvent * 10).rounded() / 10,
            "broadcast_bytes_per_event_per_actor": (bcastPerEvent * 10).rounded() / 10,
            "server_loop_cpu_share": (loopShare * 1000).rounded() / 1000,
            "push_bytes": pushBytes, "gradient_nonzero_payload_bytes": nonZeroPayload, "dense_model_bytes": denseBytes,
            "broadcast_interval_s": broadcastInterval, "broadcasts": Int(broadcasts),
            "weight_bytes_per_update_per_subscriber": Int(perUpdate),
            "weight_bytes_per_update_all_subscribers": Int(perUpdate * Double(actors)),
            "staleness_median": st["median"] ?? 0, "staleness_p95": st["p95"] ?? 0, "staleness_max": st["max"] ?? 0,
            "dropped_stale": Int(n(s1, "dropped_stale") - n(s0, "dropped_stale")),
            "server_ms_per_gradient_no_sockets": ["decode": ms(tDecode), "apply": ms(tApply), "patch_select": ms(tPatch), "patch_encode": ms(tEncode)],
        ]
        if json {
            let d = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
            print(String(decoding: d, as: UTF8.self))
        } else {
            let mb = { (x: Double) in String(format: "%.2f MB", x / 1e6) }
            print("irn bench server: \(actors) simulated actors, \(config.algorithm.rawValue) \(config.items) items x \(config.hidden) units, batch \(config.slots)")
            print(String(format: "  gradient applications/s   %.1f  (%d in %.1f s, wall clock, %d cores shared by server and actors)", rate, Int(applied), t1 - t0, ProcessInfo.processInfo.activeProcessorCount))
            print(String(format: "  server loop CPU           %.2f ms per application = %.1f applications per server-core second (loop busy %.0f%% of the time)", cpuPerApplication * 1000, oneCore, loopShare * 100))
            print("  bytes per push            \(mb(Double(pushBytes)))  (non-zero payload \(mb(Double(nonZeroPayload))), dense model \(mb(Double(denseBytes))))")
            print("  weight traffic per update \(mb(perUpdate)) per subscriber, \(mb(perUpdate * Double(actors))) to all \(actors)  (\(Int(broadcasts)) broadcasts, interval \(broadcastInterval) s)")
            print("  server work per gradient  decode \(ms(tDecode)) ms, Adam \(ms(tApply)) ms, patch \(ms(tPatch)) ms + encode \(ms(tEncode)) ms (no sockets, \(probeRounds) rounds)")
            print(String(format: "  per environment event     push %.0f B, broadcast %.0f B to each actor  (%d events per push, %.0f events per server-core second)", pushPerEvent, bcastPerEvent, eventsPerPush, oneCore * Double(eventsPerPush)))
            print("  staleness                 median \(st["median"] ?? 0), p95 \(st["p95"] ?? 0), max \(st["max"] ?? 0)")
        }
    }
}

/// A simulated actor's producer: the same gradient again and again, one session of its
/// shard per push.
private final class FixedGradientProducer: GradientProducer {
    let parts: [TensorPart]
    let envSteps: UInt64
    let events: Int
    let bf16: Bool
    private var lease: Lease?
    private var done: UInt64 = 0
    let rowSteps: [String: [Int32]]
    let rowSquareRatios: [String: [Float]]
    init(parts: [TensorPart], envSteps: UInt64, events: Int, bf16: Bool, rowSteps: [String: [Int32]], rowSquareRatios: [String: [Float]]) {
        self.parts = parts; self.envSteps = envSteps; self.events = events; self.bf16 = bf16; self.rowSteps = rowSteps
        self.rowSquareRatios = rowSquareRatios
    }
    func configure(settingsJSON: String) throws {}
    func begin(lease: Lease) { self.lease = lease; done = lease.shards.first?.done ?? 0 }
    var progress: [ShardProgress] { lease?.shards.map { ShardProgress(shard: $0.shard, done: done, total: $0.total) } ?? [] }
    func abandon() { lease = nil }
    func nextGradient(replica: inout WeightReplica) throws -> ProducedGradient? {
        guard let l = lease, let s = l.shards.first, done < s.total else { return nil }
        _ = replica.takeChanges()
        done += 1
        return ProducedGradient(parts: parts, envSteps: envSteps, progress: progress, stats: ["loss": 1, "events": Double(events)], bf16: bf16,
                                rowSteps: rowSteps, rowSquareRatios: rowSquareRatios)
    }
}
