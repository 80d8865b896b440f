import IRNSupport

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
}
