import Foundation
import IRNAgents
import IRNNumerics
import IRNSupport
import Logging

/// What a cluster run leaves next to its model besides the weights: every evaluation in the
/// history files, and the model `--keep` asks for (best: written whenever an evaluation
/// beats the best so far; last: the weights at the end). Fed from the background
/// evaluator's thread and, for the final evaluation, from the server's.
public final class ClusterRunOutputs: @unchecked Sendable {
    public let model: URL
    public let settings: ClusterSettings
    public let itemIds: [Int64]
    public let keeper: BestModelKeeper
    public let history: EvaluationHistory
    private let logger: Logger
    /// Metrics of the evaluation whose weights are in `model` (keep best).
    private let writtenMetrics = Locked<[String: Double]?>(nil)

    /// `resumed`: the server resumed a run, so the history continues and the best model
    /// already in `model` (same figure, same data) stays the one to beat.
    public init(model: URL, settings: ClusterSettings, itemIds: [Int64], split: String, metric: ValidationMetric,
                keep: BestModelKeeper.Keep, patience: Int?, resumed: Bool, logger: Logger) {
        self.model = model
        self.settings = settings
        self.itemIds = itemIds
        self.logger = logger
        let key = "\(split).\(metric.category).\(metric.kind.rawValue)@\(metric.cutoff)"
        history = EvaluationHistory(model: model)
        var resumedBest: BestModelKeeper.Best?
        if resumed {
            let m = SafetensorsFile.metadata(of: model)
            if keep == .best, let m, m["valid_metric"] == key, m["data_fingerprint"] == settings.dataFingerprint,
               let v = m["valid_value"].flatMap(Double.init) {
                resumedBest = BestModelKeeper.Best(value: v, step: 0)
            }
        } else {
            history.reset()
        }
        keeper = BestModelKeeper(keep: keep, metricKey: key, patience: patience, resumedBest: resumedBest)
    }

    /// Records one evaluation of `parameters` (at `step`); returns true when early stopping is due.
    public func record(_ metrics: [String: Double], parameters: NetworkParameters, step: UInt64, final: Bool) -> Bool {
        do { try history.append(metrics, final: final) } catch {
            logger.error("evaluation history not written", metadata: ["reason": "\(error)"])
        }
        let d = keeper.offer(metrics, step: step)
        if d.write {
            do {
                try write(parameters, step: step, value: metrics[keeper.metricKey])
                writtenMetrics.withLock { $0 = metrics }
                logger.info("best model so far written", metadata: ["file": "\(model.path)", "step": "\(step)",
                                                                    keeper.metricKey: "\(metrics[keeper.metricKey] ?? .nan)"])
            } catch {
                logger.error("best model not written", metadata: ["reason": "\(error)"])
            }
        }
        return d.stop
    }

    /// At the end of a finished run: makes sure `model` holds the model `--keep` asks for
    /// (the final weights under keep last, or when nothing was evaluated). Returns the step of
    /// the weights in the file and their evaluation, if known.
    public func finish(parameters: NetworkParameters, step: UInt64, epochs: Int, finalMetrics: [String: Double]?) throws -> (step: UInt64, metrics: [String: Double]?) {
        if keeper.keep == .best, let best = keeper.best, FileManager.default.fileExists(atPath: model.path) {
            return (best.step, writtenMetrics.current)
        }
        try write(parameters, step: step, value: finalMetrics?[keeper.metricKey], epochs: epochs)
        return (step, finalMetrics)
    }

    private func write(_ p: NetworkParameters, step: UInt64, value: Double?, epochs: Int = 0) throws {
        try ClusterModelFile.write(parameters: p, settings: settings, step: step, epochs: epochs, itemIds: itemIds,
                                   note: "irn-server cluster model after \(step) gradient applications (train split \(settings.trainSplit.rawValue), keep \(keeper.keep.rawValue))",
                                   validMetric: value == nil ? "" : keeper.metricKey, validValue: value, to: model)
    }
}
