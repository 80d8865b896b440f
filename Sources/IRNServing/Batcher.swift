import Foundation
import IRNNumerics
import IRNSupport

/// Dynamic batching: HTTP handlers submit jobs; one scoring thread waits up to `window`
/// seconds after the first queued job (or until `maxBatch` are queued), then scores every
/// queued job against one model snapshot with one matrix product. Under load the queue fills
/// while a batch is scored, so batches grow without any extra wait.
public final class Batcher: @unchecked Sendable {
    private struct Pending {
        var job: ServeJob
        var done: @Sendable (ServeResult) -> Void
        var enqueued: Double
    }

    public let window: Double
    public let maxBatch: Int
    public let metrics: ServingMetrics
    private let cond = NSCondition()
    // Guarded by `cond`:
    private var queue: [Pending] = []
    private var model: ServingModel
    // Only the scoring thread touches these:
    private let engine: ScoringEngine
    /// Scores the second half of large stateless batches on another core (nil: one thread).
    private let helper: ScoringEngine?
    /// Batches of at least this many stateless jobs are split between the two engines.
    static let splitAt = 16
    private let sessions: SessionStore
    private var lastBatch = 0
    /// Runs on the scoring thread after a batch's `done` callbacks (the HTTP side hands the
    /// batch's answers to each event loop at once). Set before the first request.
    public nonisolated(unsafe) var afterBatch: (() -> Void)?

    public init(model: ServingModel, window: Double, maxBatch: Int = 256, maxSessions: Int, sessionTTL: Double,
                metrics: ServingMetrics, blasThreads: Int = 1, scoringThreads: Int = 1) {
        self.model = model
        self.window = max(0, window)
        self.maxBatch = max(1, maxBatch)
        self.metrics = metrics
        sessions = SessionStore(capacity: maxSessions, ttl: sessionTTL)
        engine = ScoringEngine(sessions: sessions)
        // The helper only scores stateless jobs: its session store stays empty.
        helper = scoringThreads > 1 ? ScoringEngine(sessions: SessionStore(capacity: 1, ttl: 1)) : nil
        metrics.setModel(version: model.version)
        // One BLAS thread by default: the other core serves HTTP.
        BLAS.setThreads(max(1, blasThreads))
        let t = Thread { [unowned self] in self.loop() }
        t.name = "irn-serve-batcher"
        t.qualityOfService = .userInteractive
        t.start()
    }

    /// The snapshot new batches use.
    public var currentModel: ServingModel {
        cond.lock(); defer { cond.unlock() }
        return model
    }

    /// Atomically replaces the model: batches already running finish on the old one.
    public func swap(_ m: ServingModel) {
        cond.lock()
        model = m
        cond.unlock()
        metrics.setModel(version: m.version)
    }

    /// Scores `job` in the next batch; `done` runs on the scoring thread (the HTTP handler
    /// hands the answer back to its connection's event loop).
    public func submit(_ job: ServeJob, done: @escaping @Sendable (ServeResult) -> Void) {
        cond.lock()
        queue.append(Pending(job: job, done: done, enqueued: monotonicSeconds()))
        if queue.count == 1 || queue.count >= maxBatch { cond.signal() }
        cond.unlock()
    }

    private func loop() {
        cond.lock()
        while true {
            while queue.isEmpty {
                // Idle: wake once a second to expire idle sessions.
                if !cond.wait(until: Date(timeIntervalSinceNow: 1)) && queue.isEmpty {
                    cond.unlock()
                    sessions.sweep(now: monotonicSeconds())
                    publishSessionCounts()
                    cond.lock()
                }
            }
            // A lone request right after a lone batch is scored at once (a single client pays
            // no window); otherwise wait for company: each batch pays one pass over W_p.
            let deadline = queue[0].enqueued + (queue.count == 1 && lastBatch == 1 ? 0 : window)
            while queue.count < maxBatch {
                let wait = deadline - monotonicSeconds()
                if wait <= 0 { break }
                _ = cond.wait(until: Date(timeIntervalSinceNow: wait))
            }
            // At most one event per session in a batch: a second one waits for the next batch.
            var batch: [Pending] = []
            var rest: [Pending] = []
            var inBatch = Set<String>()
            for p in queue {
                if batch.count >= maxBatch { rest.append(p); continue }
                if let id = p.job.sessionId {
                    if inBatch.contains(id) { rest.append(p); continue }
                    inBatch.insert(id)
                }
                batch.append(p)
            }
            queue = rest
            let m = model
            cond.unlock()

            let t0 = monotonicSeconds()
            let results = score(batch.map(\.job), model: m, now: t0)
            metrics.observeBatch(size: batch.count, seconds: monotonicSeconds() - t0)
            lastBatch = batch.count
            publishSessionCounts()
            for (p, r) in zip(batch, results) { p.done(r) }
            afterBatch?()
            cond.lock()
        }
    }

    /// One engine, or two on the halves of a large batch of stateless jobs (stateful ones
    /// stay on the engine that owns the sessions).
    private func score(_ jobs: [ServeJob], model m: ServingModel, now: Double) -> [ServeResult] {
        guard let helper, jobs.count >= Self.splitAt, jobs.allSatisfy({ $0.sessionId == nil }) else {
            return engine.run(jobs, model: m, now: now)
        }
        let half = jobs.count / 2
        let parts = [Array(jobs[..<half]), Array(jobs[half...])]
        let out = Locked([[ServeResult]](repeating: [], count: 2))
        DispatchQueue.concurrentPerform(iterations: 2) { i in
            let r = (i == 0 ? engine : helper).run(parts[i], model: m, now: now)
            out.withLock { $0[i] = r }
        }
        return out.withLock { $0[0] + $0[1] }
    }

    private func publishSessionCounts() {
        metrics.setSessions(live: sessions.count, expired: sessions.expired, evicted: sessions.evicted)
    }
}
