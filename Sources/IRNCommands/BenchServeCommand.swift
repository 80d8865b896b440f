import ArgumentParser
import Foundation
import IRNAgents
import IRNNumerics
import IRNServing
import IRNSupport

/// `irn bench serve`: latency and throughput of `irn serve` at paper scale, measured by this
/// command's own closed-loop load generator and, where installed, by `wrk`.
struct BenchServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Latency and requests/s of `irn serve` (the real binary over loopback HTTP).",
        discussion: """
        Writes an agent model of the given scale (default the paper's: 9167 items, 256 units; \
        random weights: the work per request does not depend on their values), starts \
        `irn serve` on it as a separate process, and measures POST /v1/recommend with \
        sessions of 1 to --max-length random items: one client in a loop (latency), then \
        --clients concurrent keep-alive clients (throughput and latency). The same two \
        phases are repeated with `wrk` (Lua script cycling the same bodies) when it is on \
        the PATH (scripts/bench-serve installs it). Prints JSON. Build with -c release; the \
        load generator shares the machine's cores with the server.
        """
    )

    @Option(help: "Number of items N.") var items = 9167
    @Option(help: "LSTM units H.") var hidden = 256
    @Option(help: "Policy head: plain or repeat.") var head = "plain"
    @Option(help: "Concurrent clients in the throughput phase.") var clients = 64
    @Option(help: "Seconds of each measured phase.") var seconds = 10.0
    @Option(name: .customLong("max-length"), help: "Sessions have 1 to this many items.") var maxLength = 5
    @Option(name: .customLong("batch-window-us"), help: "The server's --batch-window-us.") var batchWindowUs = 1000
    @Option(help: "The server's --scoring-threads.") var scoringThreads = 1
    @Option(name: .customLong("blas-threads"), help: "The server's --blas-threads.") var blasThreads = 1
    @Option(help: "wrk executable (skipped when not found).") var wrk = "wrk"
    @Option(help: "The irn executable to start (default: this one).") var irn: String?
    @Option(help: "The server's --scoring (pruned or sgemm).") var scoring: ServingModel.Scoring = .pruned
    @Flag(name: .customLong("compare-sgemm"), help: "Also run the 64-client phases against a second server with --scoring sgemm (the path before pruning), interleaved with the main server's, and report both.")
    var compareSgemm = false

    /// One server's phases: single client and --clients clients, own load generator and wrk.
    struct Phases {
        var single: HTTPLoad.Result
        var many: HTTPLoad.Result
        var wrkSingle: WrkRun.Result?
        var wrkMany: WrkRun.Result?
        /// Mean jobs per batch during the concurrent phases (own generator, wrk).
        var manyBatch = Double.nan
        var wrkManyBatch = Double.nan
        var meanBatch: Double
        var scoringPerRequest: Double
    }

    /// Runs the phases against the main server and, with --compare-sgemm, a second server
    /// (--scoring sgemm) started alongside (idle while the other is measured), interleaved
    /// A-B for the own load generator and B-A for wrk, so a drift in the machine's load
    /// favours neither.
    func phases(modelURL: URL, scoring: ServingModel.Scoring, raw: [[UInt8]], wrkBinary: String?, script: URL) throws -> (main: Phases, sgemm: Phases?) {
        func start(_ s: ServingModel.Scoring) throws -> ServeProcess {
            try ServeProcess(irn: irn ?? CommandLine.arguments[0],
                             arguments: ["serve", "--model", modelURL.path, "--port", "0", "--batch-window-us", "\(batchWindowUs)", "--scoring-threads", "\(scoringThreads)",
                                         "--blas-threads", "\(blasThreads)", "--scoring", s.rawValue])
        }
        let server = try start(scoring)
        defer { server.stop() }
        let other = compareSgemm ? try start(.sgemm) : nil
        defer { other?.stop() }
        for s in [server] + (other.map { [$0] } ?? []) { _ = HTTPLoad.run(port: s.port, clients: 4, seconds: 1, requests: raw) }  // warm-up
        let one = HTTPLoad.run(port: server.port, clients: 1, seconds: seconds / 2, requests: raw)
        let c0 = Self.serverCounters(port: server.port)
        let many = HTTPLoad.run(port: server.port, clients: clients, seconds: seconds, requests: raw)
        let c1 = Self.serverCounters(port: server.port)
        let otherMany = other.map { HTTPLoad.run(port: $0.port, clients: clients, seconds: seconds, requests: raw) }
        var wrkSingle: WrkRun.Result?, wrkMany: WrkRun.Result?, otherWrk: WrkRun.Result?
        if let w = wrkBinary {
            if let other { otherWrk = try WrkRun.run(w, port: other.port, threads: 2, connections: clients, seconds: seconds, script: script) }
            wrkSingle = try WrkRun.run(w, port: server.port, threads: 1, connections: 1, seconds: seconds / 2, script: script)
        }
        let c2 = Self.serverCounters(port: server.port)
        if let w = wrkBinary {
            wrkMany = try WrkRun.run(w, port: server.port, threads: 2, connections: clients, seconds: seconds, script: script)
        }
        let c3 = Self.serverCounters(port: server.port)
        let batches = Self.serverFigures(c3)
        var main = Phases(single: one, many: many, wrkSingle: wrkSingle, wrkMany: wrkMany, meanBatch: batches.meanBatch, scoringPerRequest: batches.scoringPerRequest)
        main.manyBatch = (c1.jobs - c0.jobs) / (c1.batches - c0.batches)
        main.wrkManyBatch = wrkBinary == nil ? .nan : (c3.jobs - c2.jobs) / (c3.batches - c2.batches)
        guard let other, let otherMany else { return (main, nil) }
        let ob = Self.serverFigures(Self.serverCounters(port: other.port))
        return (main, Phases(single: otherMany, many: otherMany, wrkSingle: nil, wrkMany: otherWrk, meanBatch: ob.meanBatch, scoringPerRequest: ob.scoringPerRequest))
    }

    func run() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("irn-bench-serve-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var config = AgentConfig(algorithm: .irnP, items: items)
        config.hidden = hidden
        if head == "repeat" { config.head = .repeatAware() }
        let modelURL = dir.appendingPathComponent("model.safetensors")
        try AgentCheckpoint(config: config, parameters: NetworkParameters(shape: config.shape, seed: 1), epoch: 0).write(to: modelURL)

        var rng = RandomSource(seed: 7)
        let bodies: [String] = (0..<512).map { _ in
            let n = 1 + Int(rng.next() % UInt64(maxLength))
            return "{\"session\":[\((0..<n).map { _ in String(rng.next() % UInt64(items)) }.joined(separator: ","))],\"k\":10}"
        }
        let raw = bodies.map { RawHTTPConnection.post("/v1/recommend", json: $0) }
        // The scoring thread's work alone, in this process (one BLAS thread, as the server),
        // for both scorings: same sessions, same process, interleaved by batch size.
        BLAS.setThreads(1)
        let sessions: [[Int32]] = (0..<512).map { _ in (0..<(1 + Int(rng.next() % UInt64(maxLength)))).map { _ in Int32(rng.next() % UInt64(items)) } }
        let recommender = AgentRecommender(checkpoint: try AgentCheckpoint.read(from: modelURL))
        let model = ServingModel(recommender: recommender, name: "bench", scoring: scoring)
        let sgemmModel = ServingModel(recommender: recommender, name: "bench", scoring: .sgemm)
        let swap = try ScoringBench.swapSeconds(model: model)
        let sizes = [1, 8, 32, 64, 128]
        var perBatch: [Int: Double] = [:], perBatchSgemm: [Int: Double] = [:]
        for size in sizes {
            perBatch[size] = ScoringBench.secondsPerBatch(model: model, sizes: [size], sessions: sessions)[size]!
            perBatchSgemm[size] = ScoringBench.secondsPerBatch(model: sgemmModel, sizes: [size], sessions: sessions)[size]!
        }
        func scoringJSON(_ d: [Int: Double]) -> String {
            "{" + sizes.map { "\"\($0)\": {\"ms_per_batch\": \(String(format: "%.3f", d[$0]! * 1000)), \"us_per_request\": \(Int(d[$0]! * 1e6 / Double($0)))}" }.joined(separator: ", ") + "}"
        }
        let breakdown = ScoringBench.breakdown(model: model, size: 64, sessions: sessions)

        let wrkBinary = WrkRun.find(wrk)
        let script = dir.appendingPathComponent("bodies.lua")
        if wrkBinary != nil { try WrkRun.writeScript(bodies, to: script) }
        let (main, before) = try phases(modelURL: modelURL, scoring: model.scoring, raw: raw, wrkBinary: wrkBinary, script: script)
        func ms(_ s: Double) -> String { String(format: "%.3f", s * 1000) }
        func num(_ v: Double) -> String { v.isFinite ? String(format: "%.2f", v) : "null" }
        func own(_ r: HTTPLoad.Result) -> String {
            "{\"requests\": \(r.requests), \"errors\": \(r.errors), \"requests_per_s\": \(Int(r.perSecond)), \"p50_ms\": \(ms(r.quantile(0.5))), \"p90_ms\": \(ms(r.quantile(0.9))), \"p99_ms\": \(ms(r.quantile(0.99)))}"
        }
        func fromWrk(_ r: WrkRun.Result?) -> String {
            guard let r else { return "null" }
            return "{\"requests_per_s\": \(Int(r.perSecond)), \"p50_ms\": \(ms(r.p50)), \"p90_ms\": \(ms(r.p90)), \"p99_ms\": \(ms(r.p99)), \"non_2xx\": \(r.errors)}"
        }
        let wrkOK = main.wrkMany.map { $0.perSecond >= 10_000 && $0.p99 < 0.020 }
        let wrkNote = wrkBinary ?? "not found on PATH (scripts/bench-serve installs it)"
        var compare = ""
        if let before {
            compare = """
            ,
              "sgemm_scoring_same_run": {"own_concurrent_\(clients)": \(own(before.many)), "wrk_concurrent_\(clients)": \(fromWrk(before.wrkMany)), "mean_batch_size": \(String(format: "%.2f", before.meanBatch)), "scoring_ms_per_request": \(String(format: "%.3f", before.scoringPerRequest * 1000))}
            """
        }
        let json = """
        {
          "what": "POST /v1/recommend, sessions of 1..\(maxLength) random items, k 10, irn serve --batch-window-us \(batchWindowUs) --scoring-threads \(scoringThreads) --blas-threads \(blasThreads) --scoring \(model.scoring.rawValue)",
          "model": {"items": \(items), "hidden": \(hidden), "head": "\(head)"},
          "machine": "\(ProcessInfo.processInfo.activeProcessorCount) cores, shared with the load generator (and possibly other work): noisy",
          "scoring_only_by_batch_size": \(scoringJSON(perBatch)),
          "scoring_only_by_batch_size_sgemm": \(scoringJSON(perBatchSgemm)),
          "scoring_breakdown_us_per_request_batch_64": \(breakdown),
          "follow_swap_ms_all_tensors_changed": \(String(format: "%.2f", swap * 1000)),
          "own_load_generator": {"single_client": \(own(main.single)), "concurrent_\(clients)": \(own(main.many))},
          "wrk": {"binary": \(jsonString(wrkNote)), "single_connection": \(fromWrk(main.wrkSingle)), "concurrent_\(clients)": \(fromWrk(main.wrkMany))},
          "server": {"mean_batch_size": \(String(format: "%.2f", main.meanBatch)), "scoring_ms_per_request": \(String(format: "%.3f", main.scoringPerRequest * 1000)), "note": "over all phases, warm-up included", "mean_batch_size_own_concurrent_\(clients)": \(num(main.manyBatch)), "mean_batch_size_wrk_concurrent_\(clients)": \(num(main.wrkManyBatch))}\(compare),
          "targets": {"single_p50_under_1ms": \(main.single.quantile(0.5) < 0.001), "own_10k_per_s_p99_under_20ms": \(main.many.perSecond >= 10_000 && main.many.quantile(0.99) < 0.020), "wrk_10k_per_s_p99_under_20ms": \(wrkOK.map { "\($0)" } ?? "null")}
        }
        """
        print(json)
    }

    /// Mean jobs per batch and scoring-thread seconds per job, from the server's counters.
    static func serverFigures(_ c: (jobs: Double, batches: Double, scoringSeconds: Double)) -> (meanBatch: Double, scoringPerRequest: Double) {
        return (c.batches > 0 ? c.jobs / c.batches : .nan, c.jobs > 0 ? c.scoringSeconds / c.jobs : .nan)
    }

    /// The server's batch counters so far (GET /metrics): jobs scored, batches, scoring seconds.
    static func serverCounters(port: Int) -> (jobs: Double, batches: Double, scoringSeconds: Double) {
        guard let conn = try? RawHTTPConnection(port: port), let r = try? conn.send(RawHTTPConnection.get("/metrics")) else { return (.nan, .nan, .nan) }
        var sum = 0.0, count = 0.0, scoring = 0.0
        for line in r.body.split(separator: "\n") {
            let f = line.split(separator: " ")
            guard f.count == 2, let v = Double(f[1]) else { continue }
            if f[0] == "irn_serve_batch_size_sum" { sum = v }
            if f[0] == "irn_serve_batch_size_count" { count = v }
            if f[0] == "irn_serve_scoring_seconds_total" { scoring = v }
        }
        return (sum, count, scoring)
    }
}
