import IRNSupport
import IRNNumerics
import IRNWire

/// In-process timing of the scoring thread's work alone (no HTTP): batches of `size`
/// stateless jobs through the same engine the server uses. For `irn bench serve`.
public enum ScoringBench {
    /// Seconds per batch (median of `repeats`), for each size.
    public static func secondsPerBatch(model: ServingModel, sizes: [Int], sessions: [[Int32]], repeats: Int = 30) -> [Int: Double] {
        let engine = ScoringEngine(sessions: SessionStore(capacity: 1, ttl: 1))
        var out: [Int: Double] = [:]
        for size in sizes {
            var times: [Double] = []
            for r in 0..<repeats {
                let jobs = (0..<size).map { i in ServeJob(kind: .recommend(items: sessions[(r * size + i) % sessions.count]), k: 10, excludeSeen: false) }
                let t0 = monotonicSeconds()
                _ = engine.run(jobs, model: model, now: t0)
                times.append(monotonicSeconds() - t0)
            }
            out[size] = times.sorted()[times.count / 2]
        }
        return out
    }

    /// Where a batch's time goes on the agent path, in microseconds per request (medians of
    /// `repeats` batches of `size` stateless jobs): the LSTM steps, the logits (pruned: the
    /// bf16 first pass; sgemm: the product and bias), the per-row selection (pruned: bound,
    /// candidates, exact scores, top k; sgemm: top k over all items), and the whole engine
    /// (plus sessions and result building). A JSON object.
    public static func breakdown(model: ServingModel, size: Int, sessions: [[Int32]], repeats: Int = 30) -> String {
        guard case .agent(let p) = model.kind else { return "null" }
        let agent = AgentBatchScorer()
        var topK = TopKSelector()
        var items: [Int32] = [], values: [Float] = []
        var scored0 = 0, scored1 = 0
        var lstm: [Double] = [], logits: [Double] = [], select: [Double] = [], engineT: [Double] = []
        let engine = ScoringEngine(sessions: SessionStore(capacity: 1, ttl: 1))
        for r in 0..<repeats {
            let seqs = (0..<size).map { sessions[(r * size + $0) % sessions.count] }
            func makeRows() -> [AgentBatchScorer.Row] {
                seqs.map { .init(h: nil, c: nil, items: $0[...], prefix: p.shape.head.isRepeat ? PrefixTracker(slots: 1, head: p.shape.head) : nil) }
            }
            // LSTM alone: the pruned run minus its first pass (timed again on the same h).
            var rows = makeRows()
            let t0 = monotonicSeconds()
            agent.run(p, policyTransposed: model.policyTransposed, pruned: model.pruned, rows: &rows)
            let t1 = monotonicSeconds()
            var tLogits = 0.0
            if let pr = model.pruned {
                let a = monotonicSeconds()
                agent.firstPassOnCurrentState(pr, rows: size)
                tLogits = monotonicSeconds() - a
            } else {
                var rows2 = makeRows()
                let a = monotonicSeconds()
                agent.run(p, policyTransposed: nil, pruned: nil, rows: &rows2, lstmOnly: true)
                tLogits = max(0, (t1 - t0) - (monotonicSeconds() - a))
            }
            lstm.append(max(0, (t1 - t0) - tLogits))
            logits.append(tLogits)
            let t2 = monotonicSeconds()
            scored0 += agent.candidatesScored
            for i in 0..<size {
                agent.select(p, pruned: model.pruned, row: i, rows: &rows, k: 10, excluded: nil, topK: &topK, items: &items, values: &values)
            }
            select.append(monotonicSeconds() - t2)
            scored1 += agent.candidatesScored
            let jobs = seqs.map { ServeJob(kind: .recommend(items: $0), k: 10, excludeSeen: false) }
            let t3 = monotonicSeconds()
            _ = engine.run(jobs, model: model, now: t3)
            engineT.append(monotonicSeconds() - t3)
        }
        func us(_ v: [Double]) -> String { String(format: "%.1f", v.sorted()[v.count / 2] * 1e6 / Double(size)) }
        return "{\"scoring\": \"\(model.scoring.rawValue)\", \"lstm_steps\": \(us(lstm)), \"logits_or_first_pass\": \(us(logits)), \"select_top_k\": \(us(select)), \"engine_total\": \(us(engineT)), \"exactly_scored_items_per_request\": \(model.pruned == nil ? "null" : String(format: "%.1f", Double(scored1 - scored0) / Double(repeats * size))), \"rows_scored_all_exactly\": \(agent.exactFallbacks)}"
    }

    /// Seconds to make the next snapshot in follow mode when every tensor changed: a copy of
    /// the parameters (the previous snapshot keeps serving), the patch written into it, and
    /// the transposed W_p — the work between a broadcast's arrival and its swap.
    public static func swapSeconds(model: ServingModel) throws -> Double {
        guard case .agent(let p) = model.kind else { return 0 }
        let parts = Dictionary(uniqueKeysWithValues: p.wireParts.map { ($0.name, $0) })
        let t0 = monotonicSeconds()
        var next = p
        try next.assign(from: parts, changes: nil)
        let m = ServingModel(kind: .agent(next), version: model.version + 1, name: model.name)
        let dt = monotonicSeconds() - t0
        withExtendedLifetime(m) {}
        return dt
    }
}
