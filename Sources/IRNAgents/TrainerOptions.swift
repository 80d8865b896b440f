import Foundation
import IRNData
import IRNEvaluation
import IRNSupport

/// The figure early stopping watches: `<purchase|click|first>-<recall|mrr>@K` on the
/// validation split (default `purchase-recall@5`; higher is better).
public struct ValidationMetric: Sendable, Codable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Codable { case recall, mrr }
    public var category: String
    public var kind: Kind
    public var cutoff: Int

    public init(parsing text: String) throws {
        let parts = text.split(separator: "-", maxSplits: 1).map(String.init)
        let tail = parts.count == 2 ? parts[1].split(separator: "@").map(String.init) : []
        guard parts.count == 2, ["purchase", "click", "first"].contains(parts[0]), tail.count == 2,
              let kind = Kind(rawValue: tail[0]), let k = Int(tail[1]), k >= 1 else {
            throw IRNError("--valid-metric must look like purchase-recall@5 (category purchase, click or first; recall or mrr; a cut-off K >= 1), got '\(text)'")
        }
        category = parts[0]
        self.kind = kind
        cutoff = k
    }

    public static let purchaseRecall5 = try! ValidationMetric(parsing: "purchase-recall@5")

    public var description: String { "\(category)-\(kind.rawValue)@\(cutoff)" }

    var evaluationCategory: EvaluationCategory {
        switch category { case "click": return .click; case "first": return .first; default: return .purchase }
    }

    /// The figure in `result` (which must have been computed with this cut-off).
    public func value(in result: EvaluationResult) -> Double {
        let c = evaluationCategory
        return (kind == .recall ? result.recall(c, at: cutoff) : result.mrr(c, at: cutoff)) ?? 0
    }
}

/// How `irn train` runs: epochs, data parts, reward density, early stopping.
public struct TrainerOptions: Sendable, Codable, Equatable {
    /// Maximum number of epochs over the training part.
    public var epochs: Int = 20
    /// Reward density d: each training purchase stays a purchase with probability d.
    public var density: Double = 1
    /// Training split (default train_tr: train minus validation).
    public var trainSplit: TrainSplit = .trainTr
    /// Early stopping: stop after this many epochs without a better validation figure
    /// (nil: run every epoch, still keeping the best).
    public var patience: Int? = 5
    public var validMetric: ValidationMetric = .purchaseRecall5
    /// Keep the last epoch's model instead of the best validated one (for a final retrain on
    /// `train`, which contains the validation sessions, for an epoch count picked before).
    public var keepLast = false
    /// Evaluation threads and lock-step sessions for the validation pass.
    public var evalThreads: Int = 1
    public var evalSlots: Int = 64
    /// Seconds between progress lines (standard error).
    public var progressInterval: Double = 5

    public init() {}

    public func validate() throws {
        guard epochs >= 1 else { throw IRNError("--epochs must be at least 1") }
        try RewardModel.validate(density: density)
        if let p = patience { guard p >= 1 else { throw IRNError("--patience must be at least 1") } }
        guard !(keepLast && patience != nil) else { throw IRNError("--keep last runs every epoch: use it with --patience 0") }
        guard evalThreads >= 1, evalSlots >= 1 else { throw IRNError("evaluation threads and slots must be at least 1") }
    }
}

/// Set by a test or another thread (`request`), or by a watched signal (see
/// TrainerSignalHandler); read by the training loop after each iteration.
public final class StopFlag: @unchecked Sendable {
    private struct State {
        var requested = false
        var reason = ""
        var signals: [Int32] = []
    }
    private let state = Locked(State())

    public init() {}

    public func request(_ why: String) {
        state.withLock { if !$0.requested { $0.requested = true; $0.reason = why } }
    }

    /// Also count as requested once signal `sig` has been received by the handler.
    func watch(signal sig: Int32) { state.withLock { $0.signals.append(sig) } }

    private static func signalled(_ s: State) -> Int32? {
        s.signals.first { SignalCounters.counts[Int($0)] > 0 }
    }

    public var isRequested: Bool { state.withLock { $0.requested || Self.signalled($0) != nil } }
    public var why: String {
        state.withLock {
            if $0.requested { return $0.reason }
            if let s = Self.signalled($0) { return s == SIGINT ? "SIGINT" : "signal \(s)" }
            return ""
        }
    }
}
