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
    /// Windows computed and environment steps covered (for speed reports).
    public private(set) var windows = 0

    /// Seconds of extra (simulated) work per gradient: tests use it to slow a run down.
    public var delay: Double = 0

    public init(dataset: PreparedDataset, delay: Double = 0) {
        self.dataset = dataset
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
        guard lease != nil, let f = feeder, var w = window, let worker, var g = gradient else { return nil }
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
        let stats: [String: Double] = [
            "loss": st.totalLoss, "policy_loss": st.policyLoss, "value_loss": st.valueLoss,
            "reconstruction_loss": st.reconstructionLoss, "mean_advantage": st.meanAdvantage,
            "mean_abs_advantage": st.meanAbsAdvantage, "purchase_share": st.purchaseShare,
            "sessions": Double(started), "active_steps": Double(st.activeSteps),
        ]
        return ProducedGradient(parts: g.wireParts, envSteps: UInt64(w.steps), progress: progress, stats: stats)
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
                agent = AgentProducer(dataset: try PreparedDataset.load(from: dir), delay: selfTestDelay)
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
