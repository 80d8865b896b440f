import IRNEvaluation
import IRNNumerics

/// Scores one batch of jobs against one model snapshot and keeps the stateful sessions.
/// Not thread-safe: one thread at a time runs it (the batcher, or for the helper engine one
/// of the two halves of a split batch); its buffers live across batches.
final class ScoringEngine: @unchecked Sendable {
    let sessions: SessionStore
    private let agent = AgentBatchScorer()
    private var genericScores: [Float] = []
    private var topK = TopKSelector()
    private var topItems: [Int32] = []
    private var topScores: [Float] = []

    init(sessions: SessionStore) { self.sessions = sessions }

    func run(_ jobs: [ServeJob], model: ServingModel, now: Double) -> [ServeResult] {
        // Entries first (creating / evicting), so a job's session is live while it is scored.
        let entries: [SessionEntry?] = jobs.map { job in
            guard let id = job.sessionId else { return nil }
            let e = sessions.entry(id, stateKey: model.stateKey, now: now)
            if e.stateKey != model.stateKey { reset(e, key: model.stateKey) }
            return e
        }
        var results = [ServeResult](repeating: ServeResult(), count: jobs.count)
        switch model.kind {
        case .agent(let p): runAgent(p, model.policyTransposed, model.pruned, jobs, entries, &results)
        case .generic(let r): runGeneric(r, jobs, entries, &results)
        }
        for i in jobs.indices {
            results[i].modelVersion = model.version
            if let e = entries[i] { results[i].sessionLength = e.length }
        }
        return results
    }

    private func reset(_ e: SessionEntry, key: String) {
        e.stateKey = key
        e.h = []; e.c = []; e.prefix = nil; e.scorer = nil
        e.seen = []; e.length = 0
    }

    private func runAgent(_ p: NetworkParameters, _ wt: [Float]?, _ pruned: PrunedPolicy?, _ jobs: [ServeJob], _ entries: [SessionEntry?], _ results: inout [ServeResult]) {
        let H = p.shape.hidden, head = p.shape.head
        var rows: [AgentBatchScorer.Row] = []
        rows.reserveCapacity(jobs.count)
        for (i, job) in jobs.enumerated() {
            switch job.kind {
            case .recommend(let items):
                rows.append(.init(h: nil, c: nil, items: items[...], prefix: head.isRepeat ? PrefixTracker(slots: 1, head: head) : nil))
            case .event(_, let item):
                let e = entries[i]!
                if head.isRepeat && e.prefix == nil { e.prefix = PrefixTracker(slots: 1, head: head) }
                rows.append(.init(h: e.h, c: e.c, items: item.map { [$0][...] } ?? [], prefix: e.prefix))
                e.prefix = nil  // the row owns it while scored (no copy-on-write of the tracker)
            }
        }
        agent.run(p, policyTransposed: wt, pruned: pruned, rows: &rows)
        for (i, job) in jobs.enumerated() {
            var excluded: Set<Int32>? = nil
            if let e = entries[i] {
                let s = agent.state(i, hidden: H)
                e.h = s.h; e.c = s.c; e.prefix = rows[i].prefix
                if case .event(_, let item?) = job.kind { e.seen.insert(item); e.length += 1 }
                if job.excludeSeen { excluded = e.seen }
            } else if job.excludeSeen, case .recommend(let items) = job.kind {
                excluded = Set(items)
            }
            agent.select(p, pruned: pruned, row: i, rows: &rows, k: job.k, excluded: excluded, topK: &topK,
                         items: &topItems, values: &topScores)
            results[i].items = topItems
            results[i].scores = topScores
            if let prefix = rows[i].prefix {
                results[i].repeatScores = agent.repeatTerm(p, row: i, prefix: prefix, items: topItems)
            }
        }
    }

    /// Baselines: stateless jobs share one scorer with a slot each (right-aligned feeding, so
    /// every row's last item lands in the same final step); sessions keep one-slot scorers.
    private func runGeneric(_ model: any Recommender, _ jobs: [ServeJob], _ entries: [SessionEntry?], _ results: inout [ServeResult]) {
        let N = model.itemCount, B = jobs.count
        if genericScores.count < B * N { genericScores = [Float](repeating: 0, count: B * N) }
        let stateless = jobs.indices.filter { if case .recommend = jobs[$0].kind { return true } else { return false } }
        genericScores.withUnsafeMutableBufferPointer { all in
            if !stateless.isEmpty {
                let M = stateless.count
                var scorer = model.makeScorer(slots: M)
                for m in 0..<M { scorer.reset(slot: m) }
                let seqs: [[Int32]] = stateless.map { if case .recommend(let items) = jobs[$0].kind { return items } else { return [] } }
                let maxLen = max(1, seqs.map(\.count).max() ?? 0)
                var inputs = [Int32](repeating: -1, count: M), active = [Bool](repeating: false, count: M)
                var scratch = [Float](repeating: 0, count: M * N)
                for t in 0..<maxLen {
                    for m in 0..<M {
                        let off = maxLen - seqs[m].count
                        inputs[m] = t >= off ? seqs[m][t - off] : -1
                        active[m] = t >= off || t == maxLen - 1
                    }
                    inputs.withUnsafeBufferPointer { inp in
                        active.withUnsafeBufferPointer { act in
                            scratch.withUnsafeMutableBufferPointer { scorer.step(inputs: inp, active: act, scores: $0) }
                        }
                    }
                }
                for (m, i) in stateless.enumerated() {
                    (all.baseAddress! + i * N).update(from: scratch.withUnsafeBufferPointer { $0.baseAddress! + m * N }, count: N)
                }
            }
            for i in 0..<B {
                guard let e = entries[i], case .event(_, let item) = jobs[i].kind else { continue }
                if e.scorer == nil { var s = model.makeScorer(slots: 1); s.reset(slot: 0); e.scorer = s }
                let input = [item ?? -1], active = [true]
                input.withUnsafeBufferPointer { inp in
                    active.withUnsafeBufferPointer { act in
                        e.scorer!.step(inputs: inp, active: act, scores: UnsafeMutableBufferPointer(rebasing: all[i * N ..< (i + 1) * N]))
                    }
                }
                if let item { e.seen.insert(item); e.length += 1 }
            }
            for (i, job) in jobs.enumerated() {
                var excluded: Set<Int32>? = nil
                if job.excludeSeen {
                    if let e = entries[i] { excluded = e.seen } else if case .recommend(let items) = job.kind { excluded = Set(items) }
                }
                topK.select(UnsafeBufferPointer(rebasing: all[i * N ..< (i + 1) * N]), k: job.k, excluded: excluded,
                            items: &topItems, values: &topScores)
                results[i].items = topItems
                results[i].scores = topScores
            }
        }
    }
}
