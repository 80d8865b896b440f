import Foundation
import IRNData
import IRNEvaluation
import IRNNumerics
import IRNSupport

/// Single-process training on a prepared data set (`irn train`): epochs over the training
/// part in a seeded shuffled order (PreparedDataset.epochOrder by seed and epoch), one
/// Agent iteration per rollout window, validation after each epoch, the best model kept on
/// disk (early stopping by patience), a JSON log of per-epoch figures, and a stop flag
/// (Ctrl-C) honoured after the current iteration with a usable model left behind.
public final class Trainer {
    public let config: AgentConfig
    public let options: TrainerOptions
    public let dataset: PreparedDataset
    public let trainSet: SessionSet
    public let agent: Agent
    /// Where the best model and the log go (nil: keep in memory only).
    public var modelURL: URL?
    public var logURL: URL?
    /// Where the training checkpoint goes after every epoch (nil: none; `irn train --resume`).
    public var checkpointURL: URL?
    /// The data set's directory, named in fingerprint mismatches.
    public var dataPath = "the training data"
    /// `DataFingerprint` of the data set, stored in every model and checkpoint.
    public let dataFingerprint: String
    /// Called after every iteration (tests use it to request a stop at a given point).
    public var iterationHook: ((_ iteration: Int, _ stats: IterationStats) -> Void)?
    /// Print progress lines (every `options.progressInterval` s) to standard error.
    public var showProgress = true
    /// Print one summary line per epoch (validation figures) to standard error.
    public var showEpochSummaries = true

    public private(set) var iteration = 0
    public private(set) var epochsCompleted = 0
    public private(set) var best: AgentCheckpoint?
    /// Epochs since the best one (early stopping).
    public private(set) var sinceBest = 0
    public private(set) var log: TrainingLog

    private var feeder: SessionWindowFeeder?
    private var window: RolloutWindow

    public init(config: AgentConfig, options: TrainerOptions, dataset: PreparedDataset) throws {
        try options.validate()
        guard config.items == dataset.itemCount else {
            throw IRNError("agent has \(config.items) items but the data set has \(dataset.itemCount)")
        }
        var config = config
        // The repeat-next head's transitions come from the split trained on (never valid/test).
        try config.attachTransitions(from: dataset, split: options.trainSplit)
        self.config = config
        self.options = options
        self.dataset = dataset
        trainSet = dataset.sessions(of: options.trainSplit)
        guard trainSet.count > 0 else { throw IRNError("training split \(options.trainSplit.rawValue) holds no sessions") }
        agent = try Agent(config: config)
        window = RolloutWindow(steps: config.window, slots: config.slots, lookahead: config.nStep)
        log = TrainingLog(config: config, options: options)
        dataFingerprint = dataset.fingerprint
    }

    var bestNote: String {
        options.keepLast ? "last epoch of the run on \(options.trainSplit.rawValue)"
                         : "best of the epochs run on \(options.trainSplit.rawValue), validated on valid"
    }

    /// Sets what `TrainerCheckpoint` restores (the log keeps this run's options).
    func restoreCounters(epochsCompleted: Int, iteration: Int, sinceBest: Int, best: AgentCheckpoint?, log: TrainingLog) {
        self.epochsCompleted = epochsCompleted
        self.iteration = iteration
        self.sinceBest = sinceBest
        self.best = best
        self.log = log
        self.log.options = options
    }

    /// Starts epoch `epoch` (0-based): the training part in its shuffled order, every slot reset.
    public func startEpoch(_ epoch: Int) {
        let order = dataset.epochOrder(of: trainSet, shards: 0..<dataset.shardCount, seed: config.seed, epoch: epoch)
        // The density draw is per event and the same every epoch (a purchase "not kept" stays a click).
        feeder = SessionWindowFeeder(sessions: trainSet, order: order, config: config, density: options.density)
        agent.resetState()
    }

    /// Share of the current epoch's transitions fed so far.
    public var epochFraction: Double {
        guard let f = feeder, f.totalTransitions > 0 else { return 0 }
        return Double(f.transitionsFed) / Double(f.totalTransitions)
    }

    /// One training iteration on the next window of the current epoch (gradient, Adam, target
    /// refresh when due); nil when the epoch has no window left.
    public func trainIteration() throws -> IterationStats? {
        guard let f = feeder, f.next(into: &window) else { return nil }
        let s = try agent.iterate(window)
        iteration += 1
        iterationHook?(iteration, s)
        return s
    }

    /// Ranks the validation split with the current weights (their average under `--average-weights`).
    public func validate() throws -> EvaluationResult {
        let cutoffs = Array(Set([3, 5, 10, 20, options.validMetric.cutoff])).sorted()
        let o = EvaluationOptions(cutoffs: cutoffs, threads: options.evalThreads, slots: options.evalSlots)
        return try Evaluator.evaluate(AgentRecommender(parameters: agent.evaluationParameters), on: dataset.valid, options: o)
    }

    /// Runs up to `options.epochs` epochs. Returns normally when training completed or
    /// stopped early; when `stop` is requested it finishes the current iteration, makes sure
    /// a usable model is on disk (the best validated one, or else the current parameters)
    /// and returns with status `.interrupted`.
    public func run(stop: StopFlag = StopFlag()) throws -> TrainingLog {
        let runStart = monotonicSeconds()
        var trainSeconds = 0.0
        epochs: for e in epochsCompleted..<options.epochs {
            startEpoch(e)
            var record = EpochRecord(epoch: e + 1)
            var sum = IterationStats(), recent = IterationStats()
            var recentIterations = 0
            var recentStart = monotonicSeconds(), lastPrint = recentStart
            let refreshesBefore = agent.schedule.refreshes
            let t0 = monotonicSeconds()
            while let s = try trainIteration() {
                sum.accumulate(s); recent.accumulate(s)
                record.iterations += 1; recentIterations += 1
                let now = monotonicSeconds()
                if showProgress && now - lastPrint >= options.progressInterval {
                    printError(progressLine(epoch: e + 1, recent: recent, iterations: recentIterations, seconds: now - recentStart))
                    recent = IterationStats(); recentIterations = 0; recentStart = now; lastPrint = now
                }
                if stop.isRequested {
                    trainSeconds += monotonicSeconds() - t0
                    record.fill(sum, seconds: monotonicSeconds() - t0, refreshes: agent.schedule.refreshes - refreshesBefore)
                    record.completed = false
                    log.epochs.append(record)
                    try finishInterrupted(trainSeconds: trainSeconds, total: monotonicSeconds() - runStart, why: stop.why)
                    return log
                }
            }
            let seconds = monotonicSeconds() - t0
            trainSeconds += seconds
            record.fill(sum, seconds: seconds, refreshes: agent.schedule.refreshes - refreshesBefore)
            epochsCompleted = e + 1

            let v0 = monotonicSeconds()
            let result = try validate()
            record.validSeconds = monotonicSeconds() - v0
            record.valid = TrainingLog.figures(result)
            let value = options.validMetric.value(in: result)
            record.validValue = value
            if options.keepLast || best == nil || value > best!.validValue! {
                best = AgentCheckpoint(config: config, parameters: agent.evaluationParameters, epoch: e + 1,
                                       validMetric: options.validMetric.description, validValue: value, note: bestNote,
                                       dataFingerprint: dataFingerprint, itemIds: dataset.itemIds)
                record.improved = true
                sinceBest = 0
                if let url = modelURL { try best!.write(to: url) }
            } else {
                sinceBest += 1
            }
            log.epochs.append(record)
            log.bestEpoch = best?.epoch
            log.bestValue = best?.validValue
            log.trainSeconds = trainSeconds
            log.totalSeconds = monotonicSeconds() - runStart
            log.status = "running"
            try writeLog()
            // After the log: a checkpoint is only ever newer than the log and model it continues.
            if let url = checkpointURL { try checkpoint().write(to: url) }
            if showEpochSummaries { printError(epochLine(record)) }
            if stop.isRequested {
                try finishInterrupted(trainSeconds: trainSeconds, total: monotonicSeconds() - runStart, why: stop.why)
                return log
            }
            if let p = options.patience, sinceBest >= p {
                log.status = "early-stopped"
                break epochs
            }
        }
        if log.status != "early-stopped" { log.status = "completed" }
        log.trainSeconds = trainSeconds
        log.totalSeconds = monotonicSeconds() - runStart
        try writeLog()
        return log
    }

    /// Leaves a usable model: the best validated one is already on disk; without one, the
    /// current parameters are written (epoch = epochs completed, no validation figure).
    private func finishInterrupted(trainSeconds: Double, total: Double, why: String) throws {
        if best == nil, let url = modelURL {
            let current = AgentCheckpoint(config: config, parameters: agent.evaluationParameters, epoch: epochsCompleted,
                                          note: "interrupted (\(why)) after \(iteration) iterations, before any validation",
                                          dataFingerprint: dataFingerprint, itemIds: dataset.itemIds)
            try current.write(to: url)
        }
        log.status = "interrupted"
        log.interruptedAtIteration = iteration
        log.bestEpoch = best?.epoch
        log.bestValue = best?.validValue
        log.trainSeconds = trainSeconds
        log.totalSeconds = total
        try writeLog()
    }

    private func writeLog() throws {
        guard let url = logURL else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(log), to: url)
    }

    private func progressLine(epoch: Int, recent r: IterationStats, iterations n: Int, seconds: Double) -> String {
        let d = Double(max(n, 1))
        return String(format: "epoch %d/%d %4.1f%% it %d  %.0f events/s  loss: policy %.4f value %.4f recon %.4f total %.4f  A %.3f |A| %.3f  V %.3f  purchase %.3f",
                      epoch, options.epochs, 100 * epochFraction, iteration, Double(r.activeSteps) / max(seconds, 1e-9),
                      r.policyLoss / d, r.valueLoss / d, r.reconstructionLoss / d, r.totalLoss / d,
                      r.meanAdvantage / d, r.meanAbsAdvantage / d, r.meanValue / d, r.purchaseShare)
    }

    private func epochLine(_ r: EpochRecord) -> String {
        let p = r.valid
        let head = String(format: "epoch %d done: %d it, %.1f s, %.0f events/s, A %.3f |A| %.3f; valid purchase R@5 %.4f MRR@5 %.4f, click R@5 %.4f",
                          r.epoch, r.iterations, r.seconds, r.eventsPerSecond, r.meanAdvantage, r.meanAbsAdvantage,
                          p["purchase_recall@5"] ?? 0, p["purchase_mrr@5"] ?? 0, p["click_recall@5"] ?? 0)
        return head + " (\(options.validMetric) " + String(format: "%.4f", r.validValue ?? 0) + (r.improved ? ", best so far, saved)" : ")")
    }
}
