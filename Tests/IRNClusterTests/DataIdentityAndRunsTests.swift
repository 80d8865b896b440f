import Foundation
import XCTest
import IRNActor
import IRNAgents
import IRNData
import IRNNumerics
import IRNServer
import IRNSupport

/// The same data set with every item id shifted: the same item, session and shard counts
/// (and shard sizes), other items. Before fingerprints an actor or model on it was accepted.
func shiftedItems(_ d: PreparedDataset, by delta: Int64 = 1_000_000) -> PreparedDataset {
    PreparedDataset(itemIds: d.itemIds.map { $0 + delta }, train: d.train, test: d.test, trainTr: d.trainTr, valid: d.valid,
                    shardCount: d.shardCount)
}

private func scratch(_ name: String) -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("irn-runs-\(name)-\(getpid())")
    try? FileManager.default.removeItem(at: dir)
    return dir
}

/// Data identity: the actor's producer, the server's checkpoints and the exported models
/// compare data fingerprints.
final class DataIdentityTests: XCTestCase {
    /// Same item and shard counts, same shard sizes, other items: the actor refuses the
    /// server's settings, naming both fingerprints and both paths.
    func testActorOnSameCountsOtherItemsIsRefused() throws {
        let dataset = tinyDataset(sessions: 40)
        let agent = tinyAgent(.irnP, items: dataset.itemCount)
        let (_, settings) = agentServerConfig(dataset, agent: agent, epochs: 1)
        let other = shiftedItems(dataset)
        XCTAssertEqual(other.itemCount, dataset.itemCount)
        XCTAssertEqual(other.trainShardSizes, dataset.trainShardSizes)

        XCTAssertNoThrow(try AgentProducer(dataset: dataset, dataPath: "/test/actor-data").configure(settingsJSON: settings.json()))
        let producer = AgentProducer(dataset: other, dataPath: "/test/actor-data")
        XCTAssertThrowsError(try producer.configure(settingsJSON: settings.json())) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains(dataset.fingerprint), text)
            XCTAssertTrue(text.contains(other.fingerprint), text)
            XCTAssertTrue(text.contains("/test/server-data"), text)
            XCTAssertTrue(text.contains("/test/actor-data"), text)
        }
        XCTAssertNil(producer.settings, "refused settings are not taken")
    }

    /// A checkpoint directory of one data set is refused by a server on another (same
    /// counts), with both fingerprints; the checkpoint exports as a model that carries the
    /// fingerprint and the item map, and the exported weights are the server's.
    func testCheckpointOfOtherDataRefusedAndExportCarriesIdentity() throws {
        let dataset = tinyDataset(sessions: 40)
        let agent = tinyAgent(.a3cP, items: dataset.itemCount)
        var (cfg, _) = agentServerConfig(dataset, agent: agent, epochs: 1)
        let dir = scratch("other-data")
        defer { try? FileManager.default.removeItem(at: dir) }
        cfg.checkpointDirectory = dir
        cfg.checkpointExtras = ["server.item_ids": SafetensorsTensor(int64s: dataset.itemIds, shape: [dataset.itemCount])]
        let store = AgentStore(config: agent)
        var checkpoint: URL?
        do {
            let server = try ParameterServer(config: cfg, store: store, logger: quietLogger("s1"))
            checkpoint = server.checkpoint(force: true)
        }
        let file = try XCTUnwrap(checkpoint)

        let exported = try CheckpointModel.read(file)
        XCTAssertEqual(exported.parameters, store.parameters)
        XCTAssertEqual(exported.dataFingerprint, dataset.fingerprint)
        XCTAssertEqual(exported.itemIds, dataset.itemIds)

        let other = shiftedItems(dataset)
        var (otherCfg, _) = agentServerConfig(other, agent: agent, epochs: 1)
        otherCfg.checkpointDirectory = dir
        XCTAssertThrowsError(try ParameterServer(config: otherCfg, store: AgentStore(config: agent), logger: quietLogger("s2"))) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains(dataset.fingerprint) && text.contains(other.fingerprint), text)
            XCTAssertTrue(text.contains(file.path), text)
        }
    }
}

/// Runs: a finished or early-stopped run is not resumed silently; --fresh and --resume.
final class ClusterRunStartTests: XCTestCase {
    /// A run trained to the end is refused on a second start with the same settings (it
    /// used to resume, exit at once and overwrite the model); --resume refuses it too;
    /// --fresh moves the old checkpoints aside and starts at step 0.
    func testFinishedRunIsRefusedAndFreshStartsOver() throws {
        let dataset = tinyDataset(sessions: 30)
        let agent = tinyAgent(.a3cP, items: dataset.itemCount)
        var (cfg, _) = agentServerConfig(dataset, agent: agent, epochs: 1)
        let dir = scratch("finished")
        defer { try? FileManager.default.removeItem(at: dir) }
        cfg.checkpointDirectory = dir
        let (store, server, run) = try startAgentServer(cfg, agent: agent)
        let actor = try ActorClient(config: actorConfig(server, id: "solo"), producer: AgentProducer(dataset: dataset), logger: quietLogger("a"))
        XCTAssertEqual(try XCTUnwrap(Runner("actor") { try actor.run() }.wait(120)).get(), .finished)
        XCTAssertNoThrow(try XCTUnwrap(run.wait(60)).get())
        XCTAssertTrue(server.isFinished)
        let finishedStep = store.version
        XCTAssertGreaterThan(finishedStep, 0)

        for start in [RunStart.auto, .resume] {
            var again = cfg
            again.start = start
            XCTAssertThrowsError(try ParameterServer(config: again, store: AgentStore(config: agent), logger: quietLogger("again"))) { error in
                XCTAssertTrue("\(error)".contains("finished all 1 epoch(s)"), "\(start): \(error)")
                XCTAssertTrue("\(error)".contains("--fresh"), "\(error)")
            }
        }
        var fresh = cfg
        fresh.start = .fresh
        let store2 = AgentStore(config: agent)
        let server2 = try ParameterServer(config: fresh, store: store2, logger: quietLogger("fresh"))
        XCTAssertNil(server2.resumedFrom)
        XCTAssertEqual(store2.version, 0)
        let aside = try XCTUnwrap(server2.movedAside)
        XCTAssertFalse(try FileManager.default.contentsOfDirectory(atPath: aside.path).isEmpty)
        XCTAssertTrue(CheckpointStore(directory: dir).list().isEmpty)
    }

    /// --resume without a checkpoint fails; an early-stopped run's checkpoint is marked and
    /// not resumed.
    func testResumeNeedsACheckpointAndEarlyStoppedRunIsFinished() throws {
        let dataset = tinyDataset(sessions: 30)
        let agent = tinyAgent(.a3cP, items: dataset.itemCount)
        var (cfg, _) = agentServerConfig(dataset, agent: agent, epochs: 3)
        let dir = scratch("early")
        defer { try? FileManager.default.removeItem(at: dir) }
        cfg.checkpointDirectory = dir
        var resume = cfg
        resume.start = .resume
        XCTAssertThrowsError(try ParameterServer(config: resume, store: AgentStore(config: agent), logger: quietLogger("r"))) { error in
            XCTAssertTrue("\(error)".contains("no checkpoint to resume from"), "\(error)")
        }
        do {
            let server = try ParameterServer(config: cfg, store: AgentStore(config: agent), logger: quietLogger("s"))
            XCTAssertFalse(server.isFinished)
            server.finishEarly("test")
            XCTAssertTrue(server.isFinished)
            XCTAssertNotNil(server.checkpoint(force: true))
        }
        XCTAssertThrowsError(try ParameterServer(config: cfg, store: AgentStore(config: agent), logger: quietLogger("s2"))) { error in
            XCTAssertTrue("\(error)".contains("early-stopped"), "\(error)")
        }
    }
}

/// Keep best / last, early stopping and the evaluation history of a cluster run.
final class ClusterRunOutputsTests: XCTestCase {
    func testBestModelKeptHistoryWrittenAndPatienceStops() throws {
        let dataset = tinyDataset(sessions: 20)
        let agent = tinyAgent(.a3cP, items: dataset.itemCount)
        var settings = ClusterSettings(algo: agent.algorithm.rawValue, agent: agent)
        settings.dataFingerprint = dataset.fingerprint
        let dir = scratch("outputs")
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = dir.appendingPathComponent("model.safetensors")
        let outputs = ClusterRunOutputs(model: model, settings: settings, itemIds: dataset.itemIds, split: "valid",
                                        metric: .purchaseRecall5, keep: .best, patience: 2, resumed: false, logger: quietLogger("o"))
        func weights(_ x: Float) -> NetworkParameters {
            var p = agent.initialParameters()
            p[.policyBias] = [Float](repeating: x, count: agent.items)
            return p
        }
        func metrics(_ v: Double, step: Double) -> [String: Double] {
            ["step": step, "seconds": 0.5, "valid.purchase.recall@5": v, "valid.purchase.mrr@5": v / 2]
        }
        XCTAssertFalse(outputs.record(metrics(0.2, step: 10), parameters: weights(1), step: 10, final: false))
        XCTAssertFalse(outputs.record(metrics(0.3, step: 20), parameters: weights(2), step: 20, final: false))
        XCTAssertFalse(outputs.record(metrics(0.1, step: 30), parameters: weights(3), step: 30, final: false))
        XCTAssertTrue(outputs.record(metrics(0.25, step: 40), parameters: weights(4), step: 40, final: false), "2 evaluations without improvement")

        let kept = try AgentCheckpoint.read(from: model)
        XCTAssertEqual(kept.parameters, weights(2), "the best evaluation's weights")
        XCTAssertEqual(kept.validValue, 0.3)
        XCTAssertEqual(kept.validMetric, "valid.purchase.recall@5")
        XCTAssertEqual(kept.dataFingerprint, dataset.fingerprint)
        XCTAssertEqual(kept.itemIds, dataset.itemIds)
        let end = try outputs.finish(parameters: weights(5), step: 50, epochs: 1, finalMetrics: nil)
        XCTAssertEqual(end.step, 20)
        XCTAssertEqual(try AgentCheckpoint.read(from: model).parameters, weights(2), "keep best does not overwrite with the last weights")

        let csv = try String(contentsOf: outputs.history.csvURL, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(csv.first, "step,final,seconds,valid.purchase.mrr@5,valid.purchase.recall@5")
        XCTAssertEqual(csv.count, 5)
        XCTAssertEqual(csv[2], "20,0,0.5,0.15,0.3")
        let lines = try String(contentsOf: outputs.history.jsonlURL, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 4)
        let first = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        XCTAssertEqual(first["step"] as? Int, 10)
        XCTAssertEqual(first["valid.purchase.recall@5"] as? Double, 0.2)

        // Resumed: the history continues and the model's figure is the one to beat.
        let resumed = ClusterRunOutputs(model: model, settings: settings, itemIds: dataset.itemIds, split: "valid",
                                        metric: .purchaseRecall5, keep: .best, patience: nil, resumed: true, logger: quietLogger("o2"))
        XCTAssertEqual(resumed.keeper.best?.value, 0.3)
        _ = resumed.record(metrics(0.28, step: 60), parameters: weights(6), step: 60, final: true)
        XCTAssertEqual(try AgentCheckpoint.read(from: model).parameters, weights(2))
        XCTAssertEqual(try String(contentsOf: outputs.history.csvURL, encoding: .utf8).split(separator: "\n").count, 6)

        // Keep last: evaluations write nothing; the end writes the final weights.
        let lastModel = dir.appendingPathComponent("last.safetensors")
        let last = ClusterRunOutputs(model: lastModel, settings: settings, itemIds: dataset.itemIds, split: "valid",
                                     metric: .purchaseRecall5, keep: .last, patience: nil, resumed: false, logger: quietLogger("o3"))
        _ = last.record(metrics(0.4, step: 10), parameters: weights(1), step: 10, final: false)
        XCTAssertFalse(FileManager.default.fileExists(atPath: lastModel.path))
        _ = try last.finish(parameters: weights(7), step: 70, epochs: 1, finalMetrics: metrics(0.1, step: 70))
        XCTAssertEqual(try AgentCheckpoint.read(from: lastModel).parameters, weights(7))
    }
}
