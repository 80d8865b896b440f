import Foundation
import IRNAgents
import IRNData
import IRNNumerics
import IRNSupport
import IRNWire

/// The actor's real work: the session-parallel environment on the leased shards and the
/// compute-gradient half of the agent's iteration (`GradientWorker`), on the replica's
/// weights and target network. Sessions are replayed in `ClusterEpochOrder`; progress is the
/// number of each shard's sessions started, committed with the gradient that starts them.
/// A lease given back or lost mid-way cuts its running sessions short: no session is started
/// twice in an epoch.
public final class AgentProducer: GradientProducer {
    public let dataset: PreparedDataset
    public private(set) var settings: ClusterSettings?
    public private(set) var worker: GradientWorker?
    private var trainSet = SessionSet()
    private var parameters: NetworkParameters?
    private var target: NetworkParameters?
    private var gradient: NetworkGradient?
    private var window: RolloutWindow?
    private var lease: Lease?
    private var feeder: SessionWindowFeeder?
    private var tracker: ClusterProgressTracker?
    /// Sums windows into a push and keeps the bf16 residual (error feedback) across pushes.
    private var accumulator = PushAccumulator()
    /// Windows computed and environment steps covered (for speed reports).
    public private(set) var windows = 0

    /// Seconds of extra (simulated) work per gradient: tests use it to slow a run down.
    public var delay: Double = 0

    /// Where `dataset` was loaded from (named in a fingerprint mismatch).
    public let dataPath: String
    /// Computed once: configure runs on every (re)join.
    private lazy var dataFingerprint = dataset.fingerprint

    public init(dataset: PreparedDataset, dataPath: String = "this actor's data", delay: Double = 0) {
        self.dataset = dataset
        self.dataPath = dataPath
        self.delay = delay
    }

    public func configure(settingsJSON: String) throws {
        let s = try ClusterSettings.parse(settingsJSON)
        guard var agent = s.agent, Algorithm(rawValue: s.algo) != nil else {
            throw IRNError("the server runs --algo \(s.algo), which this actor cannot compute with --data (use the self-test producer)")
        }
        guard s.items == dataset.itemCount, s.shardCount == dataset.shardCount else {
            throw IRNError("the server's data set has \(s.items) items in \(s.shardCount) shards, ours \(dataset.itemCount) in \(dataset.shardCount): not the same prepared data")
        }
        // Same counts are not the same items: a set of other items would train the wrong rows.
        try s.checkData(fingerprint: dataFingerprint, path: dataPath, "the server's data set is not this actor's")
        let set = dataset.sessions(of: s.trainSplit)
        let sizes = (0..<dataset.shardCount).map { sh in dataset.sessionIndices(of: set, shards: [sh]).count }
        guard s.shardSizes.isEmpty || sizes == s.shardSizes else {
            throw IRNError("the server's shard sizes differ from this data set's (same directory on every host?)")
        }
        // Repeat-next head: rebuild the server's transition table from our data (its checksum
        // in the welcome refuses different data).
        try agent.attachTransitions(from: dataset, split: s.trainSplit)
        if worker == nil || worker!.config != agent {
            worker = try GradientWorker(config: agent)
            parameters = nil
            target = nil
            gradient = NetworkGradient(shape: agent.shape)
            window = RolloutWindow(steps: agent.window, slots: agent.slots, lookahead: agent.nStep)
        }
        settings = s
        trainSet = set
    }

    public func begin(lease l: Lease) {
        guard let s = settings, let agent = s.agent else { return }
        lease = l
        let order = ClusterEpochOrder(dataset: dataset, set: trainSet, lease: l.shards.map { (Int($0.shard), Int($0.done)) },
                                      seed: agent.seed, epoch: Int(l.epoch))
        tracker = ClusterProgressTracker(order: order)
        feeder = SessionWindowFeeder(sessions: trainSet, order: order.feederOrder, config: agent, density: s.density)
        worker?.resetState()
        // Each actor's imagination draws its own uniforms: the same seed everywhere would make
        // all actors sample the same imagined branches for every window. The holder of shard 0
        // (the only actor in sync mode) keeps irn train's stream, so sync mode stays bit-identical.
        if let first = l.shards.first?.shard, first != 0 {
            worker?.reseedImagination(stream: (UInt64(first) << 32) | UInt64(l.epoch))
        }
    }

    public var progress: [ShardProgress] {
        guard let l = lease else { return [] }
        return l.shards.map { sp in
            ShardProgress(shard: sp.shard, done: min(sp.total, sp.done + UInt64(tracker?.started[Int32(sp.shard)] ?? 0)), total: sp.total)
        }
    }

    public func abandon() {
        lease = nil
        feeder = nil
        tracker = nil
    }

    public func nextGradient(replica: inout WeightReplica) throws -> ProducedGradient? {
        guard lease != nil, let worker, let s = settings else { return nil }
        let shape = worker.config.shape
        let changes = replica.takeChanges()
        if parameters == nil {
            parameters = try NetworkParameters(shape: shape, wireParts: replica.weights)
        } else if changes.weights == nil || changes.weights?.isEmpty == false {
            try parameters!.assign(from: replica.weights, changes: changes.weights)
        }
        if target == nil || changes.target {
            target = try NetworkParameters(shape: shape, wireParts: replica.target)
        }
        let precision = PushPrecision(rawValue: s.pushPrecision) ?? .fp32
        let perPush = max(1, s.pushWindows)
        if s.pushesWindowsUntouched {
            // The uncompressed push is the window's own gradient, untouched (sync mode = irn train).
            guard let (steps, stats) = try nextWindow(worker) else { return nil }
            return ProducedGradient(parts: gradient!.wireParts, envSteps: steps, progress: progress, stats: stats)
        }
        // Several windows on the same weights, summed into one push (a larger batch per update).
        var steps: UInt64 = 0
        var sums: [String: Double] = [:]
        var n = 0
        accumulator.rank = PushAccumulator.RowRank(rawValue: s.pushRowsRank) ?? .norm
        let deferred = DeferredRows(rawValue: s.deferredRows) ?? .once
        accumulator.squareRatios = deferred == .moments
        while n < perPush, let (k, stats) = try nextWindow(worker) {
            accumulator.add(gradient!.wireParts)
            steps += k
            n += 1
            for (key, v) in stats { sums[key, default: 0] += v }
        }
        guard n > 0 else { return nil }
        // Counts add up; the per-window figures are averaged.
        var stats = sums
        for key in sums.keys where !Self.additiveStats.contains(key) { stats[key] = sums[key]! / Double(n) }
        let scope = PushRowsScope(rawValue: s.pushRowsScope) ?? .all
        // Under --push-rows-warmup the shares loosen toward whole pushes on early weights.
        let share = s.pushRowShares(atVersion: replica.version)
        let push = accumulator.take(precision: precision, rowFraction: share.rows, minRows: scope.minRows(items: shape.items),
                                    otherFraction: share.other)
        return ProducedGradient(parts: push.parts, envSteps: steps, progress: progress, stats: stats, bf16: precision == .bf16,
                                rowSteps: deferred == .once ? [:] : push.rowSteps,
                                rowSquareRatios: deferred == .moments ? push.rowSquareRatios : [:])
    }

    /// Stats that are counts (summed over the windows of a push); the others are means.
    static let additiveStats: Set<String> = ["sessions", "active_steps", "events"]

    /// One window's gradient into `gradient`, with its steps and stats; nil when the lease's
    /// sessions are all done.
    private func nextWindow(_ worker: GradientWorker) throws -> (UInt64, [String: Double])? {
        guard let f = feeder, var w = window, var g = gradient else { return nil }
        let more = f.next(into: &w)
        feeder = f
        window = w
        guard more else {
            tracker?.finish()
            return nil
        }
        if delay > 0 { Thread.sleep(forTimeInterval: delay) }
        var started = 0
        for r in w.resets where r { started += 1 }
        tracker?.start(started)
        let st = try worker.computeGradient(w, parameters: parameters!, target: worker.config.usesTarget ? target! : parameters!, into: &g)
        gradient = g
        windows += 1
        // "events": environment events (active slot-steps) this push covers; the server divides
        // its byte counters by their sum.
        return (UInt64(w.steps), [
            "loss": st.totalLoss, "policy_loss": st.policyLoss, "value_loss": st.valueLoss,
            "reconstruction_loss": st.reconstructionLoss, "mean_advantage": st.meanAdvantage,
            "mean_abs_advantage": st.meanAbsAdvantage, "purchase_share": st.purchaseShare,
            "sessions": Double(started), "active_steps": Double(st.activeSteps), "events": Double(st.activeSteps),
        ])
    }
}

/// Picks the producer the server's algorithm needs on (re)join: the self-test's visit
/// counter, or the agent on the prepared data (`--data`, loaded once on first use).
public final class SettingsProducer: GradientProducer {
    private let dataDirectory: URL?
    private let selfTestDelay: Double
    private var inner: (any GradientProducer)?
    private var agent: AgentProducer?

    public init(dataDirectory: URL?, selfTestDelay: Double = 0) {
        self.dataDirectory = dataDirectory
        self.selfTestDelay = selfTestDelay
    }

    public func configure(settingsJSON: String) throws {
        let s = try ClusterSettings.parse(settingsJSON)
        if s.algo == "visit-count" {
            if !(inner is VisitCountProducer) { inner = VisitCountProducer(delay: selfTestDelay) }
        } else {
            if agent == nil {
                guard let dir = dataDirectory else { throw IRNError("the server runs --algo \(s.algo): start the actor with --data DIR (the same prepared data)") }
                agent = AgentProducer(dataset: try PreparedDataset.load(from: dir), dataPath: dir.path, delay: selfTestDelay)
            }
            inner = agent
        }
        try inner!.configure(settingsJSON: settingsJSON)
    }

    public func begin(lease: Lease) { inner?.begin(lease: lease) }
    public var progress: [ShardProgress] { inner?.progress ?? [] }
    public func abandon() { inner?.abandon() }
    public func nextGradient(replica: inout WeightReplica) throws -> ProducedGradient? {
        try inner?.nextGradient(replica: &replica)
    }
}
