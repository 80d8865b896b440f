import Dispatch
import IRNData
import IRNSupport

/// How to evaluate: docs/algorithm.md#evaluation.
public struct EvaluationOptions: Sendable {
    /// Cut-offs K of Recall@K and MRR@K.
    public var cutoffs: [Int] = [3, 5, 10, 20]
    public var ties: TieRule = .conservative
    /// At most this many items are fed into the state (later events are still ranked);
    /// nil = no cap.
    public var coldStart: Int? = nil
    /// Evaluation threads (each with its own scorer) and parallel sessions per scorer.
    public var threads: Int = 2
    public var slots: Int = 64
    /// Print a progress line to standard error during long evaluations.
    public var showProgress: Bool = false
    /// Only events whose item this selects are counted (all still feed the state); nil = all.
    public var targets: TargetItems? = nil
    /// Only events whose item was (or was not) already fed in the same session are counted;
    /// nil = all. Combines with `targets` (both must select an event).
    public var sessionTargets: SessionTargets? = nil

    public init(cutoffs: [Int] = [3, 5, 10, 20], ties: TieRule = .conservative, coldStart: Int? = nil,
                threads: Int = 2, slots: Int = 64, showProgress: Bool = false, targets: TargetItems? = nil,
                sessionTargets: SessionTargets? = nil) {
        self.cutoffs = cutoffs
        self.ties = ties
        self.coldStart = coldStart
        self.threads = threads
        self.slots = slots
        self.showProgress = showProgress
        self.targets = targets
        self.sessionTargets = sessionTargets
    }

    /// The label of the counted subset reported with the figures, nil when everything counts.
    var targetsLabel: String? {
        let parts = [targets?.label, sessionTargets.map { "session:\($0.rawValue)" }].compactMap { $0 }
        return parts.isEmpty ? nil : parts.joined(separator: ",")
    }
}

/// Events split by whether their item repeats one the state was already fed in the session
/// (after the cold-start cap): a repeat-aware head and a next-item signal help different ones.
public enum SessionTargets: String, Sendable, CaseIterable {
    /// The item occurs among the session's events fed so far.
    case `repeat`
    /// The item does not.
    case new
}

/// A subset of the items whose events are counted, e.g. the items that occur (or do not
/// occur) in a training split: how a model does on items it could learn against the rest.
public struct TargetItems: Sendable {
    /// selected[i]: events on item i count.
    public var selected: [Bool]
    /// How the subset was chosen (reported with the figures), e.g. "in:train_tr".
    public var label: String

    public init(selected: [Bool], label: String) {
        self.selected = selected
        self.label = label
    }

    /// The items occurring in `split` (or, with `inSplit` false, the items that do not).
    public init(itemCount: Int, occurringIn split: SessionSet, inSplit: Bool, label: String) {
        var seen = [Bool](repeating: false, count: itemCount)
        for i in split.items where i >= 0 && Int(i) < itemCount { seen[Int(i)] = true }
        self.init(selected: inSplit ? seen : seen.map { !$0 }, label: label)
    }
}

/// The one evaluator: for every session of `sessions` and every position t >= 1, the state
/// holds events 0..<t (capped by cold start), and the item of event t is ranked against all
/// items. Events are grouped as purchase / click by their type, and First (t = 1).
public enum Evaluator {
    public static func evaluate(_ model: any Recommender, on sessions: SessionSet,
                                options: EvaluationOptions = EvaluationOptions()) throws -> EvaluationResult {
        let itemCount = model.itemCount
        if let bad = sessions.items.first(where: { $0 < 0 || Int($0) >= itemCount }) {
            throw IRNError("evaluation data holds item index \(bad), outside the model's 0..<\(itemCount) (model and data set do not match)")
        }
        if options.cutoffs.isEmpty || options.cutoffs.contains(where: { $0 < 1 }) {
            throw IRNError("cut-offs must be positive integers, got \(options.cutoffs)")
        }
        if let c = options.coldStart, c < 0 { throw IRNError("cold start must be >= 0, got \(c)") }
        if let t = options.targets, t.selected.count != itemCount {
            throw IRNError("target item subset covers \(t.selected.count) items, the model \(itemCount)")
        }
        let threads = max(1, min(options.threads, sessions.count))
        let start = monotonicSeconds()
        let totalEvents = max(sessions.eventCount - sessions.count, 1)
        var results = [MetricsAccumulator](repeating: MetricsAccumulator(cutoffs: options.cutoffs), count: threads)
        if threads == 1 {
            results[0] = runShard(model, sessions, options, shard: 0, shards: 1, totalEvents: totalEvents)
        } else {
            results.withUnsafeMutableBufferPointer { buf in
                nonisolated(unsafe) let out = buf
                DispatchQueue.concurrentPerform(iterations: threads) { t in
                    out[t] = runShard(model, sessions, options, shard: t, shards: threads, totalEvents: totalEvents)
                }
            }
        }
        var total = MetricsAccumulator(cutoffs: options.cutoffs)
        for r in results { total.merge(r) }  // fixed order: same sums for the same thread count
        return EvaluationResult(accumulator: total, ties: options.ties, coldStart: options.coldStart,
                                targets: options.targetsLabel, seconds: monotonicSeconds() - start)
    }

    /// Sessions s with s % shards == shard, run through one scorer in lock-step slots.
    static func runShard(_ model: any Recommender, _ data: SessionSet, _ options: EvaluationOptions,
                         shard: Int, shards: Int, totalEvents: Int) -> MetricsAccumulator {
        var acc = MetricsAccumulator(cutoffs: options.cutoffs)
        let n = model.itemCount
        let slots = max(1, options.slots)
        let limit = acc.maxCutoff
        let cap = options.coldStart ?? Int.max
        let targets = options.targets?.selected
        let sessionTargets = options.sessionTargets
        var scorer = model.makeScorer(slots: slots)
        var scores = [Float](repeating: 0, count: slots * n)
        var inputs = [Int32](repeating: -1, count: slots)
        var active = [Bool](repeating: false, count: slots)
        var session = [Int](repeating: -1, count: slots)
        var position = [Int](repeating: 0, count: slots)  // index t of the event to rank next
        var nextSession = shard
        var progress = options.showProgress && shard == 0 ? ProgressReporter("eval") : nil
        var ranked = 0

        // Gives `slot` the next session with at least one position to rank, if any.
        func assign(_ slot: Int) {
            while nextSession < data.count {
                let s = nextSession
                nextSession += shards
                if data.length(of: s) >= 2 {
                    session[slot] = s
                    position[slot] = 1
                    active[slot] = true
                    scorer.reset(slot: slot)
                    return
                }
            }
            active[slot] = false
        }
        for slot in 0..<slots { assign(slot) }

        data.items.withUnsafeBufferPointer { items in
            data.types.withUnsafeBufferPointer { types in
                while active.contains(true) {
                    for slot in 0..<slots where active[slot] {
                        let t = position[slot]
                        inputs[slot] = t - 1 < cap ? items[data.offsets[session[slot]] + t - 1] : -1
                    }
                    inputs.withUnsafeBufferPointer { inp in
                        active.withUnsafeBufferPointer { act in
                            scores.withUnsafeMutableBufferPointer { sc in
                                scorer.step(inputs: inp, active: act, scores: sc)
                            }
                        }
                    }
                    scores.withUnsafeBufferPointer { sc in
                        for slot in 0..<slots where active[slot] {
                            let t = position[slot]
                            let e = data.offsets[session[slot]] + t
                            if let targets, !targets[Int(items[e])] { continue }
                            if let sessionTargets {
                                let start = data.offsets[session[slot]]
                                let fed = UnsafeBufferPointer(rebasing: items[start ..< start + min(t, cap)])
                                if fed.contains(items[e]) != (sessionTargets == .repeat) { continue }
                            }
                            let row = UnsafeBufferPointer(rebasing: sc[slot * n ..< (slot + 1) * n])
                            let rank = rankOf(target: Int(items[e]), scores: row, ties: options.ties, limit: limit)
                            acc.add(rank: rank, to: types[e] == EventType.purchase.rawValue ? .purchase : .click)
                            if t == 1 { acc.add(rank: rank, to: .first) }
                        }
                    }
                    for slot in 0..<slots where active[slot] {
                        ranked += 1
                        position[slot] += 1
                        if position[slot] >= data.length(of: session[slot]) { assign(slot) }
                    }
                    progress?.tick("\(ranked * shards) / \(totalEvents) events ranked")
                }
            }
        }
        return acc
    }
}
