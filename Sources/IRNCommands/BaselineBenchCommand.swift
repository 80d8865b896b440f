import ArgumentParser
import COpenBLAS
import Foundation
import IRNBaselines
import IRNData
import IRNEvaluation
import IRNSupport

/// `irn bench baseline`: training and ranking speed of a baseline on a paper-scale synthetic
/// data set (9,167 items, 72,274 training sessions, 7,223 test sessions by default).
struct BaselineBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "baseline",
        abstract: "Speed of a baseline (training events/s, ranked test events/s) on synthetic paper-scale data.",
        discussion: "Build with -c release first. The data is synthetic: the metrics printed only show the run was sane."
    )

    @Option(help: "Baseline: pop, spop, bpr, cknn or gru4rec.")
    var method: BaselineCommand.Method = .cknn
    @Option(help: "Items.")
    var items = 9167
    @Option(name: .customLong("train-sessions"), help: "Training sessions.")
    var trainSessions = 72274
    @Option(name: .customLong("test-sessions"), help: "Test sessions.")
    var testSessions = 7223
    @Option(help: "Seed of the synthetic data and of the model.")
    var seed: UInt64 = 1
    @Option(help: "Evaluation threads.")
    var threads = 2
    @Option(help: "Sessions per evaluation thread advanced in lock step.")
    var slots = 64
    @Option(name: .customLong("gru-epochs"), help: "gru4rec: epochs to time.")
    var gruEpochs = 1
    @Option(name: .customLong("gru-hidden"), help: "gru4rec: GRU units.")
    var gruHidden = 100
    @Option(name: .customLong("gru-batch"), help: "gru4rec: mini-batch size.")
    var gruBatch = 32
    @Option(name: .customLong("gru-samples"), help: "gru4rec: extra sampled negatives per mini-batch.")
    var gruSamples = 0
    @Option(name: .customLong("bpr-epochs"), help: "bpr: epochs to time.")
    var bprEpochs = 1

    func run() throws {
        if threads > 1 { openblas_set_num_threads(1) }  // as `irn eval` does: see EvalFlags
        var gen = BaselineSynthetic(items: items, seed: seed)
        let train = gen.sessions(count: trainSessions, firstId: 0, startTime: 1_400_000_000_000)
        let test = gen.sessions(count: testSessions, firstId: Int64(trainSessions), startTime: 1_500_000_000_000)
        print("synthetic data: \(items) items, train \(train.count) sessions / \(train.eventCount) events, test \(test.count) sessions / \(test.eventCount) events")
        var args = ["--data", "-", "--method", method.rawValue, "--seed", "\(seed)", "--gru-epochs", "\(gruEpochs)",
                    "--gru-hidden", "\(gruHidden)", "--gru-batch", "\(gruBatch)", "--gru-samples", "\(gruSamples)", "--bpr-epochs", "\(bprEpochs)"]
        args += ["--threads", "\(threads)"]
        let baseline = try BaselineCommand.parse(args)
        let start = monotonicSeconds()
        let model = try baseline.train(on: train, itemCount: items, progress: true)
        let trainSeconds = monotonicSeconds() - start
        let trainEvents = train.eventCount - train.count
        print("\(method.rawValue): built/trained in \(String(format: "%.2f", trainSeconds)) s"
              + (method == .gru4rec ? " = \(Int(Double(trainEvents * gruEpochs) / trainSeconds)) training events/s (\(gruEpochs) epoch(s) of \(trainEvents) events)" : "")
              + (method == .bpr ? " = \(Int(Double(train.eventCount * bprEpochs) / trainSeconds)) training pairs/s" : ""))
        let result = try Evaluator.evaluate(model, on: test, options: EvaluationOptions(threads: threads, slots: slots, showProgress: true))
        print(result.table())
        print("ranked \(result.purchase.count + result.click.count) test events in \(String(format: "%.2f", result.seconds)) s = \(Int(result.eventsPerSecond)) events/s (\(threads) threads)")
    }
}
