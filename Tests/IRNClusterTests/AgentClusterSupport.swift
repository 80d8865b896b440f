import Foundation
import XCTest
import IRNActor
import IRNAgents
import IRNData
import IRNNumerics
import IRNServer
import IRNSupport
import IRNWire

/// A tiny prepared data set made by hand (seeded): sessions of 2-7 events over `items`
/// items, about a fifth of the events purchases, spread over `shards` shards by id hash.
func tinyDataset(sessions: Int = 60, items: Int = 24, shards: Int = 4, seed: UInt64 = 7) -> PreparedDataset {
    var rng = RandomSource(seed: seed)
    func make(_ n: Int, idBase: Int64) -> SessionSet {
        var s = SessionSet()
        for i in 0..<n {
            let len = 2 + rng.nextInt(below: 6)
            var its: [Int32] = [], ty: [UInt8] = [], tm: [Int64] = []
            for j in 0..<len {
                its.append(Int32(rng.nextInt(below: items)))
                ty.append(rng.nextDouble() < 0.2 ? EventType.purchase.rawValue : EventType.click.rawValue)
                tm.append(Int64(1_400_000_000_000 + i * 10_000 + j))
            }
            s.append(id: idBase + Int64(i), items: its, types: ty, times: tm)
        }
        return s
    }
    let train = make(sessions, idBase: 1000)
    return PreparedDataset(itemIds: (0..<items).map { Int64($0 + 100) }, train: train, test: make(12, idBase: 9000),
                           trainTr: train, valid: make(10, idBase: 8000), shardCount: shards)
}

/// A small agent (hidden 16, batch 4) of `algo`, target refresh every 6 environment steps.
func tinyAgent(_ algo: Algorithm, items: Int, seed: UInt64 = 3) -> AgentConfig {
    var c = AgentConfig(algorithm: algo, items: items)
    c.hidden = 16
    c.slots = 4
    c.targetEvery = 6
    c.seed = seed
    return c
}

/// A server of the real agent model with `config`, running on a thread of its own.
func startAgentServer(_ config: ServerConfig, agent: AgentConfig) throws -> (store: AgentStore, server: ParameterServer, run: Runner<Void>) {
    let store = AgentStore(config: agent)
    let server = try ParameterServer(config: config, store: store, logger: quietLogger("server"))
    return (store, server, Runner("server") { try server.run() })
}

/// Server settings for an agent on `dataset` (train split "train").
func agentServerConfig(_ dataset: PreparedDataset, agent: AgentConfig, epochs: UInt32, shardsPerLease: Int = 1) -> (ServerConfig, ClusterSettings) {
    var c = ServerConfig()
    c.port = 0
    c.epochs = epochs
    c.heartbeatTimeout = clusterTestHeartbeatTimeout
    c.finishGrace = 0.3
    c.useTargetSchedule(of: agent)
    let sizes = (0..<dataset.shardCount).map { dataset.sessionIndices(of: dataset.train, shards: [$0]).count }
    c.shardSizes = sizes.map { UInt64($0) }
    c.shardsPerLease = shardsPerLease
    var s = ClusterSettings(algo: agent.algorithm.rawValue, agent: agent)
    s.items = dataset.itemCount
    s.shardCount = dataset.shardCount
    s.shardSizes = sizes
    s.dataFingerprint = dataset.fingerprint
    s.dataPath = "/test/server-data"
    c.settingsJSON = s.json()
    return (c, s)
}

/// max over elements of |a - b| / max(|a|, |b|, 1e-3): relative difference of two tensors.
func maxRelativeDifference(_ a: [Float], _ b: [Float]) -> Double {
    precondition(a.count == b.count)
    var worst = 0.0
    for i in a.indices {
        let d = Double(abs(a[i] - b[i])) / max(Double(abs(a[i])), Double(abs(b[i])), 1e-3)
        worst = max(worst, d)
    }
    return worst
}
