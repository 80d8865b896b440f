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

        After every epoch a training checkpoint goes to --checkpoint (default \
        OUT.checkpoint.safetensors, i.e. OUT with .checkpoint before its extension). \
        `--resume CHECKPOINT` continues after that checkpoint's last completed epoch, bit for \
        bit as an uninterrupted run (epoch boundaries only: a run stopped mid-epoch repeats that \
        epoch). The agent settings, training split, density and valid metric come from the \
        checkpoint; --epochs is the total, counting the epochs already done.
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
    @Option(help: "Training checkpoint written after every epoch (default: OUT with .checkpoint before its extension).")
    var checkpoint: String?
    @Option(help: "Continue the run of this training checkpoint (written by irn train after each epoch) from its last completed epoch.")
    var resume: String?
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
            let resumed = try resume.map { path -> TrainerCheckpoint in
                guard FileManager.default.fileExists(atPath: path) else { throw IRNError("checkpoint to resume not found", file: path) }
                let c = try TrainerCheckpoint.read(from: URL(fileURLWithPath: path))
                // First: on other data the config's item count may not even fit.
                try c.settings.checkData(fingerprint: dataset.fingerprint, path: data, "checkpoint \(path) belongs to other data")
                return c
            }
            let config = try resumed.map { try resumeConfig($0, items: dataset.itemCount) } ?? agent.config(items: dataset.itemCount)
            var o = TrainerOptions()
            o.epochs = epochs; o.density = trainingSet.rewardDensity; o.trainSplit = trainingSet.split(evaluatingOn: "valid")
            o.patience = patience == 0 ? nil : patience
            o.validMetric = try ValidationMetric(parsing: validMetric)
            o.keepLast = keep == "last"; o.evalThreads = threads; o.progressInterval = progressEvery
            if let c = resumed {
                // The run's own choices come from the checkpoint; only the stopping rules are this command's.
                o.density = c.settings.density; o.trainSplit = c.settings.trainSplit
                o.validMetric = c.state.options.validMetric; o.keepLast = c.state.options.keepLast
                if o.keepLast { o.patience = nil }
            }
            let trainer = try Trainer(config: config, options: o, dataset: dataset)
            trainer.modelURL = URL(fileURLWithPath: out)
            trainer.logURL = URL(fileURLWithPath: self.log ?? out + ".log.json")
            trainer.checkpointURL = URL(fileURLWithPath: checkpoint ?? Self.defaultCheckpoint(out: out))
            trainer.dataPath = data
            if let c = resumed, let path = resume {
                guard c.state.epochsCompleted < epochs else {
                    throw IRNError("the checkpoint has \(c.state.epochsCompleted) epoch(s) done already; --epochs is the total: give more than that", file: path)
                }
                try trainer.resume(from: c, source: path)
                printError("resuming \(path): \(c.state.epochsCompleted) epoch(s) done, continuing with epoch \(c.state.epochsCompleted + 1) of \(epochs)")
            }
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

    /// OUT with ".checkpoint" before its extension (model.safetensors -> model.checkpoint.safetensors).
    static func defaultCheckpoint(out: String) -> String {
        let url = URL(fileURLWithPath: out)
        let ext = url.pathExtension
        return url.deletingPathExtension().path + ".checkpoint" + (ext.isEmpty ? ".safetensors" : "." + ext)
    }

    /// The checkpoint's agent config; agent flags given on this command line must agree with it
    /// (a flag left at its default is not a disagreement: the checkpoint's value is used).
    private func resumeConfig(_ c: TrainerCheckpoint, items: Int) throws -> AgentConfig {
        let stored = try c.config
        let asked = try agent.config(items: items)
        let defaults = try AgentOptions.parse([]).config(items: items)
        guard asked == defaults || asked == stored else {
            throw IRNError("agent flags differ from the checkpoint's settings: --resume continues the checkpoint's run (leave the agent flags out, or start a new run without --resume)", file: resume)
        }
        return stored
    }
}
