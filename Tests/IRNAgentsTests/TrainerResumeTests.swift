import Foundation
import IRNData
import IRNNumerics
import IRNSupport
import XCTest
@testable import IRNAgents

/// `irn train --resume`: a training checkpoint after every epoch continues bit for bit, and
/// models and checkpoints carry the data's fingerprint and item map.
final class TrainerResumeTests: XCTestCase {
    private func trainer(_ data: PreparedDataset, epochs: Int, dir: URL, name: String, algo: Algorithm = .irnP) throws -> Trainer {
        var o = TrainerOptions()
        o.epochs = epochs
        o.patience = nil
        let t = try Trainer(config: tinyTrainerConfig(algo), options: o, dataset: data)
        t.showProgress = false; t.showEpochSummaries = false
        t.modelURL = dir.appendingPathComponent("\(name).safetensors")
        t.checkpointURL = dir.appendingPathComponent("\(name).checkpoint.safetensors")
        t.dataPath = "/test/\(name)-data"
        return t
    }

    /// Two epochs in one run and one epoch + a resumed second epoch give the same
    /// parameters, target, Adam state and model file bytes (IRN-P: the imagination sampler's
    /// random stream must continue too).
    func testResumedRunEqualsUninterruptedRunBitForBit() throws {
        let data = tinyPrepared()
        let dir = scratchDirectory("resume")
        let whole = try trainer(data, epochs: 2, dir: dir, name: "whole")
        _ = try whole.run()

        let first = try trainer(data, epochs: 1, dir: dir, name: "split")
        _ = try first.run()
        let checkpoint = try TrainerCheckpoint.read(from: first.checkpointURL!)
        XCTAssertEqual(checkpoint.state.epochsCompleted, 1)

        let second = try trainer(data, epochs: 2, dir: dir, name: "split")
        try second.resume(from: checkpoint, source: first.checkpointURL!.path)
        XCTAssertEqual(second.epochsCompleted, 1)
        let log = try second.run()
        XCTAssertEqual(log.epochs.map(\.epoch), [1, 2], "the log continues")
        XCTAssertEqual(second.agent.parameters, whole.agent.parameters)
        XCTAssertEqual(second.agent.target, whole.agent.target)
        XCTAssertEqual(second.agent.optimizer.namedMoments().map(\.values), whole.agent.optimizer.namedMoments().map(\.values))
        XCTAssertEqual(second.agent.model.version, whole.agent.model.version)
        XCTAssertEqual(second.agent.schedule, whole.agent.schedule)
        XCTAssertEqual(second.iteration, whole.iteration)
        XCTAssertEqual(try Data(contentsOf: second.modelURL!), try Data(contentsOf: whole.modelURL!))
        // The checkpoint after the resumed epoch is the uninterrupted run's, byte for byte
        // but for the data path each run names.
        XCTAssertEqual(try TrainerCheckpoint.read(from: second.checkpointURL!).tensors, try TrainerCheckpoint.read(from: whole.checkpointURL!).tensors)
    }

    /// A checkpoint of one data set is refused on another with the same counts; so is a
    /// mismatching config.
    func testResumeRefusesOtherDataAndOtherConfig() throws {
        let data = tinyPrepared()
        let dir = scratchDirectory("resume-other")
        let first = try trainer(data, epochs: 1, dir: dir, name: "a")
        _ = try first.run()
        let checkpoint = try TrainerCheckpoint.read(from: first.checkpointURL!)

        let other = PreparedDataset(itemIds: data.itemIds.map { $0 + 7 }, train: data.train, test: data.test, trainTr: data.trainTr,
                                    valid: data.valid, shardCount: data.shardCount)
        let onOther = try trainer(other, epochs: 2, dir: dir, name: "b")
        XCTAssertThrowsError(try onOther.resume(from: checkpoint, source: "/test/a.checkpoint")) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains(data.fingerprint) && text.contains(other.fingerprint), text)
            XCTAssertTrue(text.contains("/test/a-data") && text.contains("/test/b-data"), text)
        }
        let otherAlgo = try trainer(data, epochs: 2, dir: dir, name: "c", algo: .a3cP)
        XCTAssertThrowsError(try otherAlgo.resume(from: checkpoint, source: "/test/a.checkpoint")) { error in
            XCTAssertTrue("\(error)".contains("agent config differs"), "\(error)")
        }
    }

    /// The model file records the data fingerprint and the item map (original ids), and a
    /// model is refused on data with another fingerprint, naming both paths.
    func testModelCarriesFingerprintAndItemMap() throws {
        let data = tinyPrepared()
        let dir = scratchDirectory("identity")
        let t = try trainer(data, epochs: 1, dir: dir, name: "m", algo: .a3cP)
        _ = try t.run()
        let model = try AgentCheckpoint.read(from: t.modelURL!)
        XCTAssertEqual(model.dataFingerprint, data.fingerprint)
        XCTAssertEqual(model.itemIds, data.itemIds)
        XCTAssertNoThrow(try model.checkData(fingerprint: data.fingerprint, dataPath: "/d", modelPath: "/m"))
        XCTAssertThrowsError(try model.checkData(fingerprint: "0123456789abcdef", dataPath: "/other-data", modelPath: t.modelURL!.path)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains(data.fingerprint) && text.contains("0123456789abcdef"), text)
            XCTAssertTrue(text.contains("/other-data") && text.contains(t.modelURL!.path), text)
        }
        // A model without the new fields (written before them) still loads and is not checked.
        let old = AgentCheckpoint(config: model.config, parameters: model.parameters, epoch: 1)
        let url = dir.appendingPathComponent("old.safetensors")
        try old.write(to: url)
        let back = try AgentCheckpoint.read(from: url)
        XCTAssertEqual(back.dataFingerprint, "")
        XCTAssertNil(back.itemIds)
        XCTAssertNoThrow(try back.checkData(fingerprint: data.fingerprint, dataPath: "/d", modelPath: "/m"))
    }
}
