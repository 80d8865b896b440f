import Foundation
import IRNData
import IRNEvaluation
import IRNNumerics
import IRNSupport

/// Online learning (the paper's Figure 4c,d): the training sessions once, in chronological
/// order of their first event, each event used for exactly one update. Before each update
/// the window's purchases are ranked by the current model ("-tr", averaged over a block of
/// iterations); every `evalEvery` iterations the test split is ranked ("-te").
///
/// The "-tr" ranks come from a scorer that walks the same slots as the training windows
/// (same inputs, same resets) with the parameters of the moment, so a purchase is ranked
/// exactly once, by the model that has not yet been updated on it.
public final class OnlineTrainer {
    public struct Options: Sendable {
        /// Reward density d of the training rewards.
        public var density: Double = 1
        /// Iterations per "-tr" record.
        public var reportEvery = 100
        /// Iterations between "-te" evaluations of the test split (0: only at the end).
        public var evalEvery = 500
        public var cutoff = 5
        public var ties: TieRule = .conservative
        public var evalThreads = 1
        public init() {}
    }

    /// One block of iterations: its training purchases ranked before their update, and the
    /// test figures when the block ended on an evaluation.
    public struct Record: Codable, Sendable, Equatable {
        public var iteration: Int
        public var events: Int
        public var trainPurchases: Int
        public var trainRecall: Double
        public var trainMRR: Double
        public var testRecall: Double?
        public var testMRR: Double?

        enum CodingKeys: String, CodingKey {
            case iteration, events, trainPurchases = "train_purchases", trainRecall = "train_recall"
            case trainMRR = "train_mrr", testRecall = "test_recall", testMRR = "test_mrr"
        }
    }

    public let config: AgentConfig
    public let options: Options
    public let agent: Agent
    public let trainSet: SessionSet
    public let testSet: SessionSet
    /// Every rank computed before an update, in order (tests read it).
    public private(set) var trainRanks: [Int] = []
    /// Sees each window before it is ranked and trained on (tests check what is fed).
    public var windowHook: ((RolloutWindow) -> Void)?

    private let feeder: SessionWindowFeeder
    private var window: RolloutWindow
    private var scoring: RecurrentState
    private var logits: [Float]

    public init(config: AgentConfig, trainSet: SessionSet, testSet: SessionSet, options: Options = Options()) throws {
        try RewardModel.validate(density: options.density)
        guard options.reportEvery >= 1, options.evalEvery >= 0, options.cutoff >= 1 else {
            throw IRNError("online learning needs --online-report-every >= 1, --online-eval-every >= 0 and a cut-off >= 1")
        }
        self.config = config
        self.options = options
        self.trainSet = trainSet
        self.testSet = testSet
        agent = try Agent(config: config)
        feeder = SessionWindowFeeder(sessions: trainSet, order: Self.chronologicalOrder(trainSet), config: config,
                                     density: options.density)
        window = RolloutWindow(steps: config.window, slots: config.slots, lookahead: config.nStep)
        scoring = RecurrentState(slots: config.slots, shape: config.shape)
        logits = [Float](repeating: 0, count: config.slots * config.items)
    }

    /// Sessions by the time of their first event (ties by index): the order they happened in.
    public static func chronologicalOrder(_ s: SessionSet) -> [Int] {
        (0..<s.count).sorted { a, b in
            let ta = s.times[s.offsets[a]], tb = s.times[s.offsets[b]]
            return ta != tb ? ta < tb : a < b
        }
    }

    /// Transitions (events after each session's first) the run trains on, each once.
    public var totalTransitions: Int { feeder.totalTransitions }

    /// Runs the whole pass; `onRecord` sees each block as it ends.
    @discardableResult
    public func run(stop: StopFlag? = nil, onRecord: (Record) -> Void = { _ in }) throws -> [Record] {
        var records: [Record] = []
        var iteration = 0, events = 0
        var block = (n: 0, hits: 0, rr: 0.0)
        while feeder.next(into: &window) {
            windowHook?(window)
            for r in rankPurchasesBeforeUpdate() {
                block.n += 1
                if r <= options.cutoff { block.hits += 1; block.rr += 1 / Double(r) }
            }
            try agent.iterate(window)
            iteration += 1
            events += window.activeCount
            let evalDue = options.evalEvery > 0 && iteration % options.evalEvery == 0
            let done = stop?.isRequested == true
            if iteration % options.reportEvery == 0 || evalDue || done {
                records.append(try record(iteration, events, block, evaluate: evalDue))
                onRecord(records.last!)
                block = (0, 0, 0)
            }
            if done { return records }
        }
        if block.n > 0 || records.last?.iteration != iteration || records.last?.testRecall == nil {
            records.append(try record(iteration, events, block, evaluate: true))
            onRecord(records.last!)
        }
        return records
    }

    private func record(_ iteration: Int, _ events: Int, _ b: (n: Int, hits: Int, rr: Double), evaluate: Bool) throws -> Record {
        var r = Record(iteration: iteration, events: events, trainPurchases: b.n,
                       trainRecall: b.n == 0 ? 0 : Double(b.hits) / Double(b.n),
                       trainMRR: b.n == 0 ? 0 : b.rr / Double(b.n))
        if evaluate && testSet.count > 0 {
            let o = EvaluationOptions(cutoffs: [options.cutoff], ties: options.ties, threads: options.evalThreads)
            let result = try Evaluator.evaluate(AgentRecommender(parameters: agent.parameters), on: testSet, options: o)
            r.testRecall = result.recall(.purchase, at: options.cutoff)
            r.testMRR = result.mrr(.purchase, at: options.cutoff)
        }
        return r
    }

    /// Walks the window's steps with the current parameters and returns the rank of every
    /// purchase target (purchases after reward density: the ones the agent is rewarded for).
    private func rankPurchasesBeforeUpdate() -> [Int] {
        let M = config.slots, N = config.items, params = agent.parameters
        var inputs = [Int32](repeating: -1, count: M)
        var resets = [Bool](repeating: false, count: M)
        var ranks: [Int] = []
        for t in 0..<window.steps {
            for m in 0..<M {
                let i = t * M + m
                inputs[m] = window.active[i] ? window.inputs[i] : -1
                resets[m] = window.resets[i]
            }
            inputs.withUnsafeBufferPointer { inp in
                resets.withUnsafeBufferPointer { rst in
                    logits.withUnsafeMutableBufferPointer { out in
                        params.scoreStep(inputs: inp, resets: rst, state: &scoring, logits: out)
                    }
                }
            }
            for m in 0..<M where window.active[t * M + m] && window.targetIsPurchase[t * M + m] {
                let rank = logits.withUnsafeBufferPointer { all in
                    rankOf(target: Int(window.targets[t * M + m]), scores: UnsafeBufferPointer(rebasing: all[(m * N)..<((m + 1) * N)]),
                           ties: options.ties)
                }
                ranks.append(rank)
            }
        }
        trainRanks.append(contentsOf: ranks)
        return ranks
    }
}
