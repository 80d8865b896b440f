import Foundation
import IRNSupport

/// Which cluster model ends up in `--out`: with `keep best` every evaluation whose figure
/// (`metricKey`, e.g. "valid.purchase.recall@5"; higher is better) beats the best so far is
/// written there at once, so the file always holds the best model evaluated (a run stopped
/// early or killed included); with `keep last` the final weights are written at the end.
/// `patience` evaluations in a row without improvement ask for early stopping.
/// Evaluations arrive on the evaluator's thread, the final one on the server's: locked.
public final class BestModelKeeper: @unchecked Sendable {
    public enum Keep: String, Sendable, CaseIterable { case best, last }

    public struct Best: Sendable, Equatable {
        public var value: Double
        public var step: UInt64
    }

    public let keep: Keep
    public let metricKey: String
    public let patience: Int?
    private struct State {
        var best: Best?
        var sinceBest = 0
    }
    private let state = Locked(State())

    public init(keep: Keep, metricKey: String, patience: Int?, resumedBest: Best? = nil) {
        self.keep = keep
        self.metricKey = metricKey
        self.patience = patience
        state.withLock { $0.best = resumedBest }
    }

    public var best: Best? { state.withLock { $0.best } }

    public struct Decision: Sendable, Equatable {
        /// The evaluated weights are the best so far: write them (keep best).
        public var write: Bool
        /// `patience` evaluations without improvement: stop the run.
        public var stop: Bool
    }

    /// Records one evaluation's metrics; says whether to write its weights and whether to stop.
    public func offer(_ metrics: [String: Double], step: UInt64) -> Decision {
        guard let value = metrics[metricKey] else { return Decision(write: false, stop: false) }
        return state.withLock { s in
            if s.best == nil || value > s.best!.value {
                s.best = Best(value: value, step: step)
                s.sinceBest = 0
                return Decision(write: keep == .best, stop: false)
            }
            s.sinceBest += 1
            return Decision(write: false, stop: patience.map { s.sinceBest >= $0 } ?? false)
        }
    }
}
