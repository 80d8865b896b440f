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
