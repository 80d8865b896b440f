import IRNNumerics
import IRNWire

/// One gradient computed by a producer, with what it covers.
public struct ProducedGradient: Sendable {
    public var parts: [TensorPart]
    /// Environment steps this gradient covers (drives the server's target refreshes).
    public var envSteps: UInt64
    /// Shard progress reached once this gradient is in (committed with it on the server).
    public var progress: [ShardProgress]
    /// Scalars for stats ("loss" is shown as recent losses).
    public var stats: [String: Double]
    /// Values go out as bfloat16 (`--push-precision bf16`; `parts` are already rounded).
    public var bf16: Bool
    /// Per row-sparse part, the Adam steps of each row (`GradientPush.rowSteps`); empty: one.
    public var rowSteps: [String: [Int32]]
    /// With `rowSteps`: each row's square ratio (`GradientPush.rowSquareRatios`); empty: 1.
    public var rowSquareRatios: [String: [Float]]

    public init(parts: [TensorPart], envSteps: UInt64, progress: [ShardProgress], stats: [String: Double] = [:], bf16: Bool = false,
                rowSteps: [String: [Int32]] = [:], rowSquareRatios: [String: [Float]] = [:]) {
        self.bf16 = bf16
        self.rowSteps = rowSteps
        self.rowSquareRatios = rowSquareRatios
        self.parts = parts
        self.envSteps = envSteps
        self.progress = progress
        self.stats = stats
    }
}

/// The work an actor does, independent of the network: the agents implement it with the
/// session-parallel environment and the compute-gradient half of their training step.
/// The actor client calls it from its one thread.
public protocol GradientProducer: AnyObject {
    /// The server's settings (Welcome.settingsJSON), on every (re)join, before `begin`.
    func configure(settingsJSON: String) throws
    /// Starts on a lease: its shards, each resuming after `done` sessions. Replaces any
    /// previous lease.
    func begin(lease: Lease)
    /// Computes one gradient on the replica's current weights and target network, or returns
    /// nil when every shard of the lease is finished (`progress` is then final).
    /// `replica.takeChanges()` tells what changed since the previous call.
    func nextGradient(replica: inout WeightReplica) throws -> ProducedGradient?
    /// Progress on the current lease (sent with heartbeats and when returning the lease).
    var progress: [ShardProgress] { get }
    /// Drops the current lease without finishing it (server restarted, lease lost).
    func abandon()
}
