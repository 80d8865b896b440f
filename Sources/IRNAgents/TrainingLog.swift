import IRNEvaluation

/// Figures of one training epoch, as written to MODEL.log.json.
public struct EpochRecord: Codable, Sendable, Equatable {
    public var epoch: Int
    /// False for an epoch cut short by a stop request.
    public var completed = true
    public var iterations = 0
    /// Environment events (active slot steps) trained on.
    public var events = 0
    public var seconds = 0.0
    public var eventsPerSecond = 0.0
    /// Means over the epoch's iterations.
    public var policyLoss = 0.0, valueLoss = 0.0, reconstructionLoss = 0.0, entropyLoss = 0.0, totalLoss = 0.0
    public var meanAdvantage = 0.0, meanAbsAdvantage = 0.0, meanValue = 0.0
    public var purchaseShare = 0.0
    public var targetRefreshes = 0
    /// Validation figures ("purchase_recall@5", ...) and the early-stopping figure.
    public var valid: [String: Double] = [:]
    public var validValue: Double?
    public var validSeconds = 0.0
    public var improved = false

    public init(epoch: Int) { self.epoch = epoch }

    mutating func fill(_ sum: IterationStats, seconds: Double, refreshes: Int) {
        let n = Double(max(iterations, 1))
        events = sum.activeSteps
        self.seconds = seconds
        eventsPerSecond = seconds > 0 ? Double(events) / seconds : 0
        policyLoss = sum.policyLoss / n; valueLoss = sum.valueLoss / n
        reconstructionLoss = sum.reconstructionLoss / n; entropyLoss = sum.entropyLoss / n; totalLoss = sum.totalLoss / n
        meanAdvantage = sum.meanAdvantage / n; meanAbsAdvantage = sum.meanAbsAdvantage / n; meanValue = sum.meanValue / n
        purchaseShare = sum.purchaseShare
        targetRefreshes = refreshes
    }
}

/// MODEL.log.json: the run's settings and per-epoch figures.
public struct TrainingLog: Codable, Sendable {
    public var format = "irn-train-log"
    public var version = 1
    public var config: AgentConfig
    public var options: TrainerOptions
    public var epochs: [EpochRecord] = []
    public var bestEpoch: Int?
    public var bestValue: Double?
    /// running, completed, early-stopped or interrupted.
    public var status = "running"
    public var interruptedAtIteration: Int?
    /// Seconds in training iterations (validation excluded) and in the whole run.
    public var trainSeconds = 0.0
    public var totalSeconds = 0.0

    public init(config: AgentConfig, options: TrainerOptions) {
        self.config = config
        self.options = options
    }

    /// "purchase_recall@5" style figures of every category and cut-off.
    static func figures(_ r: EvaluationResult) -> [String: Double] {
        var out: [String: Double] = [:]
        for c in EvaluationCategory.allCases {
            for (j, k) in r.cutoffs.enumerated() {
                out["\(c.name)_recall@\(k)"] = r[c].recall[j]
                out["\(c.name)_mrr@\(k)"] = r[c].mrr[j]
            }
            out["\(c.name)_count"] = Double(r[c].count)
        }
        return out
    }
}
