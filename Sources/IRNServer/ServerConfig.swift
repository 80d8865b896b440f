import Foundation
import IRNAgents
import IRNNumerics

/// How a server treats an existing checkpoint directory. A finished run (all epochs done, or
/// early-stopped) is never resumed: it would exit at once and overwrite the model.
public enum RunStart: String, Sendable, CaseIterable {
    /// Resume an unfinished run if there is a checkpoint, else start; refuse a finished one.
    case auto
    /// Start a new run; existing checkpoints are moved to `replaced-<n>/`.
    case fresh
    /// Resume; refuse when there is no checkpoint or the run is finished.
    case resume
}

/// Settings of a parameter server.
public struct ServerConfig: Sendable {
    /// Interface to bind ("127.0.0.1", "0.0.0.0", "*").
    public var host = "127.0.0.1"
    /// Base port P: actors on P, broadcast on P+1, stats on P+2, HTTP /metrics on P+3.
    /// 0 picks a free base (tests).
    public var port = 5555
    /// Sessions per shard (shard i holds shardSizes[i] sessions, in a fixed order).
    public var shardSizes: [UInt64] = []
    public var shardsPerLease = 1
    public var epochs: UInt32 = 1
    /// Gradients computed on weights more than this many versions old are dropped (nil: never).
    public var maxStaleness: UInt64?
    /// An actor not heard from for this long is dropped and its shards go back.
    public var heartbeatTimeout: Double = 10
    public var checkpointDirectory: URL?
    public var checkpointEvery: Double = 600
    public var keepCheckpoints = 3
    /// What to do with the checkpoints found in `checkpointDirectory`.
    public var start: RunStart = .auto
    /// Extra tensors every checkpoint carries (the data set's item map, "server.item_ids").
    public var checkpointExtras: [String: SafetensorsTensor] = [:]
    /// Target network refresh period (0: never), in `targetUnit`s (environment steps of the
    /// applied gradients summed over all actors, or gradient applications): `TargetSchedule`.
    public var targetEvery = 500
    public var targetUnit: TargetUnit = .steps
    /// Minimum seconds between weight broadcasts (0: after every update). Patches in between
    /// are merged, so a broadcast carries each changed row once.
    public var broadcastInterval: Double = 0
    /// Broadcast at the latest after this many updates since the last broadcast (0: no
    /// bound). With `maxStaleness` S the server also broadcasts every max(1, S / 2) updates,
    /// so gradients on the newest broadcast weights are not dropped; with S = 0 (the
    /// synchronous check) after every update.
    public var broadcastEvery: UInt64 = 0
    /// Weight patches in bfloat16 (`--broadcast-precision bf16`): half the broadcast bytes;
    /// actors compute on the master rounded to bf16 in the rows a patch carried. Full weights
    /// (welcome, resync) and the target network stay exact.
    public var broadcastBF16 = false
    /// Broadcasts queued per subscriber before that subscriber misses some (ZeroMQ's send
    /// high-water mark). A subscriber that misses a patch sees the version gap and fetches the
    /// full weights, so a short queue loses nothing; a long one holds a stalled actor's
    /// backlog in the server's memory (100 patches of 3.6 MB each on the dev split).
    public var broadcastQueue: Int32 = 16
    /// CURVE: the server's secret key (Z85); nil runs without encryption.
    public var curveSecretKey: String?
    /// CURVE: public keys (Z85) of admitted actors; nil admits any client knowing our public key.
    public var curveAllowedKeys: Set<String>?
    /// Settings handed to every actor in Welcome (JSON object text).
    public var settingsJSON = "{}"
    public var maxMessageBytes = 512 << 20
    /// Append-only record of leases, commits, applied and refused gradients and checkpoints
    /// (`ServerRecord`; `irn-server --record FILE`), read by scripts/chaos-check. nil: none.
    public var recordFile: URL?
    /// After the last epoch: how long to keep answering actors ("finished") before exiting.
    public var finishGrace: Double = 0.5

    public init() {}

    /// Takes the agent's target schedule (`--target-every`, `--target-unit`).
    public mutating func useTargetSchedule(of agent: AgentConfig) {
        targetEvery = agent.targetEvery
        targetUnit = agent.targetUnit
    }
}
