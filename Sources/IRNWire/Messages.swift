import IRNNumerics

/// Progress of one shard within a lease: `done` of its `total` sessions (in the shard's fixed
/// order) are finished.
public struct ShardProgress: Sendable, Equatable, Hashable {
    public var shard: UInt32
    public var done: UInt64
    public var total: UInt64

    public init(shard: UInt32, done: UInt64, total: UInt64) {
        self.shard = shard
        self.done = done
        self.total = total
    }
}

/// Shards handed to one actor for one epoch, with where to resume in each.
public struct Lease: Sendable, Equatable {
    public var leaseId: UInt64
    public var epoch: UInt32
    public var shards: [ShardProgress]

    public init(leaseId: UInt64, epoch: UInt32, shards: [ShardProgress]) {
        self.leaseId = leaseId
        self.epoch = epoch
        self.shards = shards
    }
}

/// Actor -> server: first message after connecting (and after a server restart).
public struct Hello: Sendable, Equatable {
    public var actorId: String
    public var host: String
    public var threads: UInt32
    /// Run id of the server the actor last talked to (0 = none): tells a restarted server
    /// that this actor was in the previous run.
    public var knownRunId: UInt64

    public init(actorId: String, host: String, threads: UInt32, knownRunId: UInt64 = 0) {
        self.actorId = actorId
        self.host = host
        self.threads = threads
        self.knownRunId = knownRunId
    }
}

/// Server -> actor: answer to Hello, with the current weights and target network at once.
public struct Welcome: Sendable, Equatable {
    public var runId: UInt64
    public var weightVersion: UInt64
    public var targetVersion: UInt64
    public var weights: [TensorPart]
    public var target: [TensorPart]
    /// Server settings the actor must follow (JSON object text, e.g. algorithm and seed).
    public var settingsJSON: String
    public var lease: Lease?

    public init(runId: UInt64, weightVersion: UInt64, targetVersion: UInt64, weights: [TensorPart],
                target: [TensorPart], settingsJSON: String = "{}", lease: Lease? = nil) {
        self.runId = runId
        self.weightVersion = weightVersion
        self.targetVersion = targetVersion
        self.weights = weights
        self.target = target
        self.settingsJSON = settingsJSON
        self.lease = lease
    }
}

/// Actor -> server: one gradient. The header's weight version is the version it was computed on.
public struct GradientPush: Sendable, Equatable {
    /// The actor's own push counter, echoed in the Ack.
    public var sequence: UInt64
    /// Environment steps (events) this gradient covers, summed into the server's count that
    /// drives target refreshes.
    public var envSteps: UInt64
    /// The lease the progress below belongs to (0 = none).
    public var leaseId: UInt64
    /// Shard progress reached once this gradient is in: committed together with it.
    public var progress: [ShardProgress]
    /// Scalars of the iteration (loss terms, reward, ...), for stats.
    public var stats: [String: Double]
    public var parts: [TensorPart]
    /// Values travel as bfloat16 (`BF16`, rounded by the encoder; the receiver widens them to
    /// Float32). The sender keeps the rounding error (`PushAccumulator`).
    public var bf16: Bool
    /// Per row-sparse part (by name), one count per row: the pushes that row's gradient waited
    /// through at the actor (`--push-rows`, `PushAccumulator`); the server's Adam takes that
    /// many steps. Empty: one step per row. When not empty, every row-sparse part has an entry.
    public var rowSteps: [String: [Int32]]
    /// With `rowSteps` (`--deferred-rows moments`), per row-sparse part one value >= 1 per row:
    /// the row's mean squared gradient over those pushes divided by the squared mean, which
    /// the server's Adam feeds its second moment. Empty: 1 (the mean alone).
    public var rowSquareRatios: [String: [Float]]

    public init(sequence: UInt64, envSteps: UInt64, leaseId: UInt64 = 0, progress: [ShardProgress] = [],
                stats: [String: Double] = [:], parts: [TensorPart], bf16: Bool = false, rowSteps: [String: [Int32]] = [:],
                rowSquareRatios: [String: [Float]] = [:]) {
        self.bf16 = bf16
        self.rowSteps = rowSteps
        self.rowSquareRatios = rowSquareRatios
        self.sequence = sequence
        self.envSteps = envSteps
        self.leaseId = leaseId
        self.progress = progress
        self.stats = stats
        self.parts = parts
    }
}

public enum AckStatus: UInt8, Sendable {
    case applied = 0, stale = 1, rejected = 2, unknownActor = 3, finished = 4
}

/// Server -> actor: what became of a push.
public struct Ack: Sendable, Equatable {
    public var sequence: UInt64
    public var status: AckStatus
    /// Server weight version after handling the push.
    public var weightVersion: UInt64
    /// Server target-network version after handling the push (a synchronous actor waits for
    /// both before its next gradient).
    public var targetVersion: UInt64

    public init(sequence: UInt64, status: AckStatus, weightVersion: UInt64, targetVersion: UInt64 = 0) {
        self.sequence = sequence
        self.status = status
        self.weightVersion = weightVersion
        self.targetVersion = targetVersion
    }
}

/// Server -> actors (broadcast, or direct on request): new weight values. A patch replaces the
/// listed parts/rows and moves a replica from `fromVersion` to `toVersion`; a full update
/// (fromVersion 0, `full`) replaces everything.
public struct WeightUpdate: Sendable, Equatable {
    public var fromVersion: UInt64
    public var toVersion: UInt64
    public var full: Bool
    public var parts: [TensorPart]
    /// Values travel as bfloat16 (`irn-server --broadcast-precision bf16`): a patch overwrites
    /// rows with the master's values rounded to bf16, so the rounding never accumulates.
    public var bf16: Bool

    public init(fromVersion: UInt64, toVersion: UInt64, full: Bool, parts: [TensorPart], bf16: Bool = false) {
        self.fromVersion = fromVersion
        self.toVersion = toVersion
        self.full = full
        self.parts = parts
        self.bf16 = bf16
    }
}

/// Server -> actors: the target network is now the weights of `weightVersion`. `parts` may be
/// empty: a replica at that version copies its own weights; otherwise they are the complete
/// target network (dense).
public struct TargetRefresh: Sendable, Equatable {
    public var targetVersion: UInt64
    public var weightVersion: UInt64
    public var parts: [TensorPart]

    public init(targetVersion: UInt64, weightVersion: UInt64, parts: [TensorPart] = []) {
        self.targetVersion = targetVersion
        self.weightVersion = weightVersion
        self.parts = parts
    }
}

public enum LeaseStatus: UInt8, Sendable {
    /// `lease` holds new shards.
    case granted = 0
    /// Every remaining shard is leased to someone else: ask again later.
    case wait = 1
    /// All epochs are done.
    case finished = 2
}

public struct LeaseGrant: Sendable, Equatable {
    public var status: LeaseStatus
    public var lease: Lease?

    public init(status: LeaseStatus, lease: Lease? = nil) {
        self.status = status
        self.lease = lease
    }
}

/// Why a party says goodbye.
public enum ByeReason: UInt8, Sendable {
    /// The actor leaves (SIGTERM); its leases go back.
    case leaving = 0
    /// The server does not know this actor (e.g. it restarted): say Hello again.
    case unknownActor = 1
    /// The server is shutting down.
    case serverShutdown = 2
    /// Training is over.
    case finished = 3
}

/// Every message of the cluster protocol.
public enum WireMessage: Sendable, Equatable {
    case hello(Hello)
    case welcome(Welcome)
    case gradient(GradientPush)
    case ack(Ack)
    case weights(WeightUpdate)
    case weightsRequest
    case targetRefresh(TargetRefresh)
    case leaseRequest(maxShards: UInt32)
    case leaseGrant(LeaseGrant)
    /// Actor gives shards back unfinished (leaving); progress says where others resume.
    case leaseReturn(leaseId: UInt64, progress: [ShardProgress])
    /// Actor finished every shard of the lease.
    case leaseComplete(leaseId: UInt64, progress: [ShardProgress])
    case heartbeat(leaseId: UInt64, progress: [ShardProgress])
    case statsRequest
    case statsReply(json: String)
    case bye(ByeReason)

    public var kind: WireKind {
        switch self {
        case .hello: return .hello
        case .welcome: return .welcome
        case .gradient: return .gradient
        case .ack: return .ack
        case .weights: return .weights
        case .weightsRequest: return .weightsRequest
        case .targetRefresh: return .targetRefresh
        case .leaseRequest: return .leaseRequest
        case .leaseGrant: return .leaseGrant
        case .leaseReturn: return .leaseReturn
        case .leaseComplete: return .leaseComplete
        case .heartbeat: return .heartbeat
        case .statsRequest: return .statsRequest
        case .statsReply: return .statsReply
        case .bye: return .bye
        }
    }
}

/// Message kind codes in the header (stable: never renumber, only append).
public enum WireKind: UInt16, Sendable, CaseIterable {
    case hello = 1, welcome = 2, gradient = 3, ack = 4, weights = 5, weightsRequest = 6
    case targetRefresh = 7, leaseRequest = 8, leaseGrant = 9, leaseReturn = 10, leaseComplete = 11
    case heartbeat = 12, statsRequest = 13, statsReply = 14, bye = 15
}
