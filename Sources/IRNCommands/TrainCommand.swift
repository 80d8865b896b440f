import ArgumentParser
import Foundation
import IRNAgents
import IRNData
import IRNNumerics
import IRNSupport

/// `irn train`: trains one agent in this process on a prepared data set.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train an agent (a3c-f, a3c-p, irn-f, irn-p, prn-p) on a prepared data set.",
        discussion: """
        Each epoch replays the training part (--train-split, default train_tr = train minus the \
        validation sessions) in a shuffled order fixed by --seed and the epoch, through --batch \
        session-parallel slots, one gradient per --window steps. After each epoch the policy \
        ranks the valid split (purchase/click/First Recall@K and MRR@K); the model with the best \
        --valid-metric is written to --out (safetensors, atomically) and training stops after \
        --patience epochs without improvement. Per-epoch figures go to --log (default \
        OUT.log.json). Evaluate the result on test with `irn eval --data DIR --model OUT`. \
        Ctrl-C finishes the current iteration, leaves the best model so far (or, before the \
        first validation, the current one) at --out, and exits with status 130. With --threads 1 \
        (default) the same seed, data and flags give a bit-identical model.
        """
    )

    @Option(help: "Prepared data set directory (from `irn data prepare`).")
    var data: String
    @Option(help: "Model file to write (safetensors).")
    var out: String
    @Option(help: "Maximum number of epochs.")
    var epochs: Int = 20
    @Option(help: "Stop after this many epochs without a better validation figure (0 = run all epochs, still keeping the best).")
    var patience: Int = 5
    @OptionGroup(title: "Training set") var trainingSet: TrainingSetOptions
    @Option(name: .customLong("valid-metric"), help: "Early-stopping figure on the valid split: <purchase|click|first>-<recall|mrr>@K.")
    var validMetric: String = "purchase-recall@5"
    @Option(help: "Which model to keep: best (by --valid-metric on valid) or last (the final epoch; for a retrain on --train-split train for an epoch count picked on validation; needs --patience 0).")
    var keep: String = "best"
    @Option(help: "OpenBLAS threads and row-parallel threads (1 = single-threaded, bit-reproducible).")
    var threads: Int = 1
    @Option(help: "Per-epoch log file (JSON). Default: OUT.log.json.")
    var log: String?
    @Option(name: .customLong("progress-every"), help: "Seconds between progress lines.")
    var progressEvery: Double = 5
    @Flag(help: "No progress lines (epoch summaries are still printed).")
    var quiet = false
    @OptionGroup(title: "Online learning") var online: OnlineOptions
    @OptionGroup var agent: AgentOptions

    func validate() throws {
        guard epochs >= 1 else { throw ValidationError("--epochs must be at least 1, got \(epochs)") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        guard patience >= 0 else { throw ValidationError("--patience must be >= 0") }
        guard keep == "best" || keep == "last" else { throw ValidationError("--keep must be best or last, got '\(keep)'") }
    }

    func run() throws {
        BLAS.setThreads(threads)
        if online.online { return try runOnline() }
        let stop = StopFlag()
        let handler = TrainerSignalHandler(flag: stop)
        defer { handler.cancel() }
        let log: TrainingLog
        do {
            try OutputFolder.check(out, flag: "--out")
            let dataset = try PreparedDataset.load(from: URL(fileURLWithPath: data))
            let config = try agent.config(items: dataset.itemCount)
            var o = TrainerOptions()
            o.epochs = epochs; o.density = trainingSet.rewardDensity; o.trainSplit = trainingSet.split(evaluatingOn: "valid")
            o.patience = patience == 0 ? nil : patience
            o.validMetric = try ValidationMetric(parsing: validMetric)
            o.keepLast = keep == "last"; o.evalThreads = threads; o.progressInterval = progressEvery
            let trainer = try Trainer(config: config, options: o, dataset: dataset)
            trainer.modelURL = URL(fileURLWithPath: out)
            trainer.logURL = URL(fileURLWithPath: self.log ?? out + ".log.json")
            trainer.showProgress = !quiet
            let part = dataset.sessions(of: o.trainSplit)
            printError("train \(config.algorithm.rawValue): \(dataset.itemCount) items, \(part.count) sessions / \(part.eventCount - part.count) transitions in \(o.trainSplit.rawValue), d = \(o.density), H = \(config.hidden), M = \(config.slots), k = \(config.window), breadth \(config.breadth), depth \(config.depth), seed \(config.seed), \(threads) thread(s)")
            log = try trainer.run(stop: stop)
        } catch let e as IRNError {
            printError("irn: error: \(e)")
            throw ExitCode.failure
        }
        let bestText = log.bestEpoch.map { "epoch \($0) (valid \(validMetric) \(String(format: "%.4f", log.bestValue ?? 0)))" } ?? "none validated"
        if log.status == "interrupted" {
            printError("interrupted at iteration \(log.interruptedAtIteration ?? 0); \(out) holds " + (log.bestEpoch != nil ? "the best model so far, \(bestText)" : "the current parameters (no epoch finished)"))
            throw ExitCode(130)
        }
        print("\(log.status): \(log.epochs.count) epoch(s), \(String(format: "%.1f", log.trainSeconds)) s training; best \(bestText) -> \(out)")
    }
}
