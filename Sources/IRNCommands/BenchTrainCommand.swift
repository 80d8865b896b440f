import ArgumentParser
import Foundation
import IRNAgents
import IRNData
import IRNEvaluation
import IRNNumerics
import IRNSupport

/// `irn bench train`: events/s of the whole training loop (session feeding, windows, gradient,
/// Adam, target refreshes) against the bare `irn bench step` iteration on synthetic windows,
/// measured in alternating blocks in the same process; then the ranking speed of the shared
/// evaluator on the test sessions (what `irn eval` runs).
struct BenchTrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Speed of the training loop vs the bare iteration, and of evaluation, at paper scale.",
        discussion: """
        Without --data, a paper-scale synthetic set is generated in memory (9,167 items, 72,274 \
        buying training sessions, 7,223 test sessions). Training-loop and bare-iteration blocks \
        alternate so both see the same machine load; the loop must stay within 20% of the bare \
        figure. Evaluation uses --eval-threads threads (OpenBLAS then single-threaded, as `irn \
        eval` does). Build with -c release first.
        """
    )

    @Option(help: "Prepared data set directory (default: synthetic paper-scale data in memory).")
    var data: String?
    @Option(help: "Synthetic data: items.")
    var items = 9167
    @Option(name: .customLong("train-sessions"), help: "Synthetic data: training sessions.")
    var trainSessions = 72274
    @Option(name: .customLong("test-sessions"), help: "Synthetic data: test sessions.")
    var testSessions = 7223
    @Option(help: "Alternating measurement blocks (each: training loop, then bare iterations).")
    var blocks = 4
    @Option(name: .customLong("block-iterations"), help: "Iterations per block and side.")
    var blockIterations = 25
    @Option(help: "Untimed warm-up iterations per side.")
    var warmup = 3
    @Option(help: "OpenBLAS and row-parallel threads for training.")
    var threads = 1
    @Option(name: .customLong("eval-threads"), help: "Evaluation threads (0 = skip the evaluation measurement).")
    var evalThreads = 2
    @Option(name: .customLong("eval-slots"), help: "Sessions per evaluation thread in lock step.")
    var evalSlots = 64
    @Option(name: .customLong("eval-sessions"), help: "Rank at most this many test sessions (0 = all).")
    var evalSessions = 0
    @Option(name: .customLong("save-data"), help: "Also write the (synthetic) data set here as a prepared directory, for `irn eval`.")
    var saveData: String?
    @Option(name: .customLong("save-model"), help: "Also write the model trained during the measurement here (safetensors).")
    var saveModel: String?
    @OptionGroup var agent: AgentOptions
    @Flag(help: "Print one JSON object.")
    var json = false

    func run() throws {
        guard blocks >= 1, blockIterations >= 1, warmup >= 0, threads >= 1, evalThreads >= 0 else {
            throw ValidationError("--blocks, --block-iterations and --threads must be >= 1; --warmup, --eval-threads >= 0")
        }
        BLAS.setThreads(threads)
        let t0 = monotonicSeconds()
        let dataset: PreparedDataset
        if let data { dataset = try PreparedDataset.load(from: URL(fileURLWithPath: data)) }
        else { dataset = try BenchTrainSynthetic.dataset(items: items, trainSessions: trainSessions, testSessions: testSessions, seed: agent.seed) }
        let dataSeconds = monotonicSeconds() - t0
        if let saveData { try dataset.save(to: URL(fileURLWithPath: saveData), sources: ["irn bench train (synthetic)"]) }
        let config = try agent.config(items: dataset.itemCount)
        var options = TrainerOptions()
        options.epochs = 1_000
        options.trainSplit = data == nil ? .train : .trainTr
        let trainer = try Trainer(config: config, options: options, dataset: dataset)
        trainer.showProgress = false
        let bare = try Agent(config: trainer.config)
        let windows = BenchStepWindows.make(config: config, count: 8, purchaseShare: 0.1, meanSession: 9, seed: config.seed &+ 17)
        var gradient = NetworkGradient(shape: config.shape)
        var epoch = 0
        trainer.startEpoch(epoch)
        // One loop iteration: the next window of the epoch (a new epoch when it ends).
        func loopIteration() throws -> Int {
            if let s = try trainer.trainIteration() { return s.activeSteps }
            epoch += 1
            trainer.startEpoch(epoch)
            return try trainer.trainIteration()?.activeSteps ?? 0
        }
        var bareIndex = 0
        func bareIteration() throws -> Int {
            let w = windows[bareIndex % windows.count]
            bareIndex += 1
            let s = try bare.computeGradient(w, into: &gradient)
            bare.apply(gradient)
            return s.activeSteps
        }
        for _ in 0..<warmup { _ = try loopIteration(); _ = try bareIteration() }
        var loopEvents = 0, loopSeconds = 0.0, bareEvents = 0, bareSeconds = 0.0
        var blockRatios: [Double] = []
        for b in 0..<blocks {
            var le = 0, be = 0
            let a = monotonicSeconds()
            for _ in 0..<blockIterations { le += try loopIteration() }
            let mid = monotonicSeconds()
            for _ in 0..<blockIterations { be += try bareIteration() }
            let end = monotonicSeconds()
            loopEvents += le; loopSeconds += mid - a; bareEvents += be; bareSeconds += end - mid
            blockRatios.append((Double(le) / (mid - a)) / (Double(be) / (end - mid)))
            if !json { printError("block \(b + 1)/\(blocks): loop \(Int(Double(le) / (mid - a))) events/s, bare \(Int(Double(be) / (end - mid))) events/s") }
        }
        let loopRate = Double(loopEvents) / loopSeconds, bareRate = Double(bareEvents) / bareSeconds
        let ratio = loopRate / bareRate

        if let saveModel {
            try AgentCheckpoint(config: config, parameters: trainer.agent.parameters, epoch: 0,
                                note: "irn bench train: \(blocks * blockIterations + warmup) iterations, for speed checks only").write(to: URL(fileURLWithPath: saveModel))
        }
        var evalRate = 0.0, evalEvents = 0, evalSeconds = 0.0
        if evalThreads > 0 {
            if evalThreads > 1 { BLAS.setThreads(1) }
            let test = evalSessions > 0 && evalSessions < dataset.test.count ? dataset.test.subset(0..<evalSessions) : dataset.test
            let r = try Evaluator.evaluate(AgentRecommender(parameters: trainer.agent.parameters), on: test,
                                           options: EvaluationOptions(threads: evalThreads, slots: evalSlots))
            evalRate = r.eventsPerSecond; evalEvents = r.purchase.count + r.click.count; evalSeconds = r.seconds
        }
        let train = dataset.sessions(of: options.trainSplit)
        if json {
            let obj: [String: Any] = [
                "algo": config.algorithm.rawValue, "items": dataset.itemCount, "hidden": config.hidden, "batch": config.slots,
                "train_sessions": train.count, "train_events": train.eventCount, "data_seconds": dataSeconds,
                "loop_events_per_s": loopRate, "bare_events_per_s": bareRate, "loop_over_bare": ratio,
                "block_ratios": blockRatios, "within_20_percent": ratio >= 0.8,
                "eval_events_per_s": evalRate, "eval_events": evalEvents, "eval_seconds": evalSeconds, "eval_threads": evalThreads,
                "blas_core": BLAS.coreName, "threads": threads, "peak_rss_mb": peakResidentMB(),
            ]
            let d = try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys])
            print(String(decoding: d, as: UTF8.self))
        } else {
            print("algo \(config.algorithm.rawValue): N=\(dataset.itemCount) H=\(config.hidden) M=\(config.slots) k=\(config.window); train \(train.count) sessions / \(train.eventCount) events (\(data ?? "synthetic, built in \(String(format: "%.1f", dataSeconds)) s"))")
            print("OpenBLAS core \(BLAS.coreName), \(threads) training thread(s)")
            print(String(format: "training loop     %.0f events/s", loopRate))
            print(String(format: "bare iteration    %.0f events/s", bareRate))
            print(String(format: "loop / bare       %.3f ", ratio) + (ratio >= 0.8 ? "(within 20%)" : "(MORE than 20% slower)"))
            if evalThreads > 0 {
                print(String(format: "evaluation        %.0f events/s (%d test events in %.2f s, %d threads x %d slots)", evalRate, evalEvents, evalSeconds, evalThreads, evalSlots))
            }
            print(String(format: "peak RSS          %.0f MB", peakResidentMB()))
        }
    }
}
