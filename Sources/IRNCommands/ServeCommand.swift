import ArgumentParser
import Foundation
import IRNAgents
import IRNData
import IRNNumerics
import IRNServing
import IRNSupport
import Logging

extension ServingModel.Scoring: ExpressibleByArgument {}

/// `irn serve`: answers "what next?" over HTTP from a model file or live from a training
/// cluster. See docs/serving.md.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a model's recommendations over HTTP (JSON API, metrics, a web page).",
        discussion: """
        irn serve --model FILE [--data DIR]          any model `irn eval` reads (agents, baselines)
        irn serve --follow tcp://HOST:P --data DIR   live: the training cluster's newest weights

        Endpoints: POST /v1/recommend {"session":[ids],"k":10,"exclude_seen":false}; \
        POST /v1/sessions/ID/events {"item":id} (state kept server-side); GET /healthz; \
        GET /metrics (Prometheus); GET / (a page to try it). Item ids are the original ids \
        of --data's item map (without --data: the ids the model file carries, or its dense indices). The first line on \
        standard output says where it listens.
        """
    )

    @Option(help: "Model file to serve (any kind `irn eval --model` reads).")
    var model: String?

    @Option(help: "Follow a running training cluster instead: its actors' address tcp://HOST:P. Subscribes read-only to the weight broadcast on P+1 (no lease, pushes nothing) and serves each new version as it arrives; the page shows the cluster's stats from P+2.")
    var follow: String?

    @Option(help: "Prepared data set directory: maps original item ids to the model's items (required with --follow).")
    var data: String?

    @Option(help: "Address to listen on.")
    var host: String = "127.0.0.1"

    @Option(help: "Port to listen on (0: any free port, printed on the first line).")
    var port: Int = 8080

    @Option(name: .customLong("batch-window-us"), help: "Dynamic batching: after the first queued request, wait up to this many microseconds for more before scoring them all with one matrix product (a lone request after a lone request is scored at once).")
    var batchWindowUs: Int = 1000

    @Option(name: .customLong("blas-threads"), help: "OpenBLAS threads for a batch's products (1 leaves the other cores to HTTP).")
    var blasThreads: Int = 1

    @Option(help: "Scoring threads: with 2, a batch of 16 or more stateless requests is scored in two halves on two cores (stateful session events stay on one).")
    var scoringThreads: Int = 1

    @Option(help: "Agents' scoring: pruned (a bf16 first pass over all items with a rigorous error bound, then exact float32 scores for the items that can reach the top k: the same top k as scoring all; needs AVX512-BF16, else sgemm) or sgemm (every logit in float32).")
    var scoring: ServingModel.Scoring = .pruned

    @Option(name: .customLong("max-batch"), help: "Most requests scored in one batch.")
    var maxBatch: Int = 256

    @Option(name: .customLong("session-ttl"), help: "Seconds after which an idle stateful session is dropped.")
    var sessionTTL: Double = 1800

    @Option(name: .customLong("max-sessions"), help: "Most stateful sessions kept; beyond it the least recently used is evicted.")
    var maxSessions: Int = 100_000

    @Option(name: .customLong("max-body"), help: "Largest request body in bytes (larger: 413).")
    var maxBody: Int = 64 * 1024

    @Option(name: .customLong("max-k"), help: "Largest k a request may ask for.")
    var maxK: Int = 1000

    @Option(name: .customLong("follow-timeout"), help: "With --follow: seconds to wait for the first weights before giving up.")
    var followTimeout: Double = 60

    func validate() throws {
        guard (model == nil) != (follow == nil) else { throw ValidationError("give exactly one of --model FILE or --follow tcp://HOST:P") }
        if follow != nil && data == nil { throw ValidationError("--follow needs --data DIR (the cluster's prepared data, for item ids)") }
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0...65535") }
        guard scoringThreads == 1 || scoringThreads == 2 else { throw ValidationError("--scoring-threads must be 1 or 2, got \(scoringThreads)") }
        guard batchWindowUs >= 0, maxBatch >= 1, sessionTTL > 0, maxSessions >= 1, maxBody >= 64, maxK >= 1 else {
            throw ValidationError("--batch-window-us >= 0, --max-batch >= 1, --session-ttl > 0, --max-sessions >= 1, --max-body >= 64 and --max-k >= 1")
        }
    }

    func run() throws {
        do {
            let logger = Logger(label: "irn.serve")
            let dataset = try data.map { try PreparedDataset.load(from: URL(fileURLWithPath: $0)) }
            var follower: ClusterFollower?
            let served: ServingModel
            if let model {
                let url = URL(fileURLWithPath: model)
                var recommender = try EvalModelLoading.load(url)
                if let dataset, let data { try EvalModelLoading.checkData(model: url, dataset: dataset, dataPath: data) }
                if let agent = recommender as? AgentRecommender, agent.parameters.shape.head.hasNext {
                    // The repeat-next head's transition table is rebuilt from the training data.
                    guard let dataset else { throw IRNError("a --head repeat-next model needs --data DIR (its transition table is rebuilt from the training split)") }
                    recommender = try agent.attachingTransitions(from: dataset)
                }
                served = ServingModel(recommender: recommender, name: Self.modelName(model), scoring: scoring)
            } else {
                ProcessMemory.returnLargeBlocksToSystem()
                follower = try ClusterFollower(server: follow!, scoring: scoring)
                printError("irn serve: waiting for weights from \(follow!)")
                served = try follower!.firstModel(timeout: followTimeout, logger: logger)
            }
            if let dataset, dataset.itemCount != served.itemCount {
                throw IRNError("the model scores \(served.itemCount) items but the data set has \(dataset.itemCount): not the same prepared data")
            }
            // Original ids from --data, else from the model file itself, else dense indices.
            let modelIds = model.flatMap { EvalModelLoading.itemIds(of: URL(fileURLWithPath: $0)) }
            let items = dataset.map { ItemMap(ids: $0.itemIds) }
                ?? modelIds.flatMap { $0.count == served.itemCount ? ItemMap(ids: $0) : nil }
                ?? ItemMap(identity: served.itemCount)
            let metrics = ServingMetrics()
            let batcher = Batcher(model: served, window: Double(batchWindowUs) * 1e-6, maxBatch: maxBatch,
                                  maxSessions: maxSessions, sessionTTL: sessionTTL, metrics: metrics, blasThreads: blasThreads,
                                  scoringThreads: scoringThreads)
            follower?.attach(batcher)
            var http = ServeHTTPOptions()
            http.host = host
            http.port = port
            http.maxBody = maxBody
            http.maxK = maxK
            let backend = ServeBackend(batcher: batcher, items: items, metrics: metrics,
                                       sampleItems: Self.popular(dataset, items: items), follower: follower)
            let host = self.host, name = served.name, version = served.version
            let done = DispatchSemaphore(value: 0)
            let failure = FailureBox()
            Task {
                do {
                    try await ServingHTTP.run(backend, options: http) { p in
                        // Unbuffered write: scripts and tests wait for this line.
                        FileHandle.standardOutput.write(Data("irn serve: listening on http://\(host):\(p) (\(name), version \(version), \(items.count) items)\n".utf8))
                    }
                } catch { failure.set("\(error)") }
                done.signal()
            }
            done.wait()
            follower?.requestStop()
            if let e = failure.get() { throw IRNError("HTTP server stopped: \(e)") }
        } catch let e as IRNError {
            printError("error: \(e)")
            throw ExitCode.failure
        }
    }

    /// "irn-p (model.safetensors)", from the file's metadata without loading it again.
    static func modelName(_ path: String) -> String {
        let meta = SafetensorsFile.metadata(of: URL(fileURLWithPath: path)) ?? [:]
        let kind = meta["algorithm"] ?? meta["kind"] ?? meta["format"] ?? "model"
        return "\(kind) (\(URL(fileURLWithPath: path).lastPathComponent))"
    }

    /// The 24 items most frequent in training (or the first 24 ids without data).
    static func popular(_ d: PreparedDataset?, items: ItemMap) -> [Int64] {
        guard let d else { return Array(items.ids.prefix(24)) }
        var counts = [Int](repeating: 0, count: d.itemCount)
        for it in d.train.items where it >= 0 && Int(it) < counts.count { counts[Int(it)] += 1 }
        return counts.indices.sorted { counts[$0] > counts[$1] || (counts[$0] == counts[$1] && $0 < $1) }
            .prefix(24).map { items.original(Int32($0)) }
    }
}

/// An error message handed from the server task to the waiting command thread.
final class FailureBox: @unchecked Sendable {
    private let lock = NSLock()
    private var message: String?
    func set(_ m: String) { lock.lock(); message = m; lock.unlock() }
    func get() -> String? { lock.lock(); defer { lock.unlock() }; return message }
}
