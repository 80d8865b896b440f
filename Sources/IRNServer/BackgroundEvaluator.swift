import Dispatch
import Foundation
import IRNAgents
import IRNData
import IRNEvaluation
import IRNNumerics
import IRNSupport
import Logging
import ZeroMQ

/// Evaluates copies of the weights on a held-out split off the server's loop thread: at most
/// one evaluation runs at a time (a request while one runs is skipped, the next due one
/// catches up). Results become the server's `eval` stats.
public final class BackgroundEvaluator: @unchecked Sendable {
    public let sessions: SessionSet
    public let split: String
    public let options: EvaluationOptions
    private let queue = DispatchQueue(label: "irn.server.eval")
    private let busy = Locked(false)
    private let latest = Locked<[String: Double]>([:])
    private let logger: Logger

    public init(sessions: SessionSet, split: String, options: EvaluationOptions, logger: Logger) {
        self.sessions = sessions
        self.split = split
        self.options = options
        self.logger = logger
    }

    /// The metrics as stats keys: "<split>.<category>.recall@K", ".mrr@K", plus step and seconds.
    public static func metrics(_ r: EvaluationResult, split: String, step: UInt64) -> [String: Double] {
        var out: [String: Double] = ["step": Double(step), "seconds": r.seconds]
        for c in EvaluationCategory.allCases {
            for k in r.cutoffs {
                if let x = r.recall(c, at: k) { out["\(split).\(c.name).recall@\(k)"] = x }
                if let x = r.mrr(c, at: k) { out["\(split).\(c.name).mrr@\(k)"] = x }
            }
            out["\(split).\(c.name).events"] = Double(r[c].count)
        }
        return out
    }

    /// Evaluates now on the calling thread.
    public func evaluate(_ p: NetworkParameters, step: UInt64) throws -> [String: Double] {
        let r = try Evaluator.evaluate(AgentRecommender(parameters: p), on: sessions, options: options)
        let m = Self.metrics(r, split: split, step: step)
        latest.withLock { $0 = m }
        return m
    }

    /// Starts an evaluation of `p` (a copy: the caller keeps training) unless one runs;
    /// `done` gets the metrics on the evaluation thread.
    @discardableResult
    public func start(_ p: NetworkParameters, step: UInt64, done: @escaping @Sendable ([String: Double]) -> Void) -> Bool {
        let claimed = busy.withLock { b -> Bool in
            if b { return false }
            b = true
            return true
        }
        guard claimed else { return false }
        queue.async { [self] in
            defer { busy.withLock { $0 = false } }
            do {
                let m = try evaluate(p, step: step)
                logger.info("evaluation", metadata: ["step": "\(step)", "split": "\(split)",
                                                     "purchase_recall@5": "\(m["\(split).purchase.recall@5"] ?? .nan)"])
                done(m)
            } catch {
                logger.error("evaluation failed", metadata: ["reason": "\(error)"])
            }
        }
        return true
    }

    /// Waits for a running evaluation to end.
    public func wait() { queue.sync {} }
}
