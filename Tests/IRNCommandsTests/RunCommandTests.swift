import ArgumentParser
import Foundation
import XCTest
import IRNAgents
import IRNData
@testable import IRNCommands

/// The commands of the "runs" half: irn eval refuses a model of other data, irn export turns
/// a checkpoint into a model, and the new flags parse and check.
final class RunCommandTests: XCTestCase {
    private func scratch(_ name: String) -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("irn-run-commands-\(name)-\(getpid())")
        try? FileManager.default.removeItem(at: dir)
        try! FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    private func dataset(itemBase: Int64) -> PreparedDataset {
        var train = SessionSet()
        for k in 0..<24 { train.append(id: Int64(k), items: [Int32(k % 6), Int32((k + 1) % 6), Int32((k + 2) % 6)], types: [0, 0, 1], times: [0, 1, 2]) }
        return PreparedDataset(itemIds: (0..<6).map { itemBase + Int64($0) }, train: train, test: train, trainTr: train, valid: train, shardCount: 4)
    }

    private func smallConfig(items: Int) -> AgentConfig {
        var c = AgentConfig(algorithm: .a3cP, items: items)
        c.hidden = 4
        c.slots = 2
        return c
    }

    /// --targets-in / --targets-not-in select the items of a named split, exclude each other
    /// and refuse a name that is not a split.
    func testTargetItemFlags() throws {
        var trainTr = SessionSet()
        trainTr.append(id: 1, items: [0, 3], types: [0, 1], times: [0, 1])
        var all = SessionSet()
        for k in 0..<6 { all.append(id: Int64(k), items: [Int32(k), Int32((k + 1) % 6)], types: [0, 1], times: [0, 1]) }
        let data = PreparedDataset(itemIds: (0..<6).map { Int64($0) }, train: all, test: all, trainTr: trainTr, valid: all, shardCount: 1)
        let model = ["--data", "d", "--model", "m"]
        let inTr = try XCTUnwrap(try EvalCommand.parse(model + ["--targets-in", "train_tr"]).eval.targets(of: data))
        XCTAssertEqual(inTr.selected, [true, false, false, true, false, false])
        XCTAssertEqual(inTr.label, "in:train_tr")
        let outTr = try XCTUnwrap(try EvalCommand.parse(model + ["--targets-not-in", "train_tr"]).eval.targets(of: data))
        XCTAssertEqual(outTr.selected, [false, true, true, false, true, true])
        XCTAssertNil(try EvalCommand.parse(model).eval.targets(of: data))
        XCTAssertThrowsError(try EvalCommand.parse(model + ["--targets-in", "train", "--targets-not-in", "valid"]).eval.targets(of: data))
        XCTAssertThrowsError(try EvalCommand.parse(model + ["--targets-in", "training"]).eval.targets(of: data)) { error in
            XCTAssertTrue("\(error)".contains("training"), "\(error)")
        }
    }

    /// A model trained on one data set, evaluated on another with the same item count: refused
    /// with both fingerprints and both paths (it used to score 0.00 without a word).
    func testEvalRefusesAModelOfOtherData() throws {
        let dir = scratch("eval")
        let a = dataset(itemBase: 100), b = dataset(itemBase: 500)
        let model = dir.appendingPathComponent("m.safetensors")
        let config = smallConfig(items: 6)
        try AgentCheckpoint(config: config, parameters: config.initialParameters(), epoch: 1,
                            dataFingerprint: a.fingerprint, itemIds: a.itemIds).write(to: model)
        XCTAssertNoThrow(try EvalModelLoading.checkData(model: model, dataset: a, dataPath: "/data/a"))
        XCTAssertThrowsError(try EvalModelLoading.checkData(model: model, dataset: b, dataPath: "/data/b")) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains(a.fingerprint) && text.contains(b.fingerprint), text)
            XCTAssertTrue(text.contains(model.path) && text.contains("/data/b"), text)
        }
    }

    /// `irn export` of an irn train checkpoint writes a model `irn eval` loads, with the
    /// checkpoint's weights, fingerprint and item map; `irn eval` also loads the checkpoint itself.
    func testExportWritesTheCheckpointsModel() throws {
        let dir = scratch("export")
        let data = dataset(itemBase: 100)
        var o = TrainerOptions()
        o.epochs = 1
        o.patience = nil
        let trainer = try Trainer(config: smallConfig(items: 6), options: o, dataset: data)
        trainer.showProgress = false; trainer.showEpochSummaries = false
        let checkpoint = dir.appendingPathComponent("m.checkpoint.safetensors")
        trainer.checkpointURL = checkpoint
        _ = try trainer.run()
        let out = dir.appendingPathComponent("exported.safetensors")
        try ExportCommand.parse([checkpoint.path, "--out", out.path]).run()
        let model = try AgentCheckpoint.read(from: out)
        XCTAssertEqual(model.parameters, trainer.agent.parameters)
        XCTAssertEqual(model.dataFingerprint, data.fingerprint)
        XCTAssertEqual(model.itemIds, data.itemIds)
        XCTAssertEqual(model.epoch, 1)
        XCTAssertEqual(try EvalModelLoading.load(checkpoint).itemCount, 6)
        XCTAssertThrowsError(try ExportCommand.parse([out.path, "--out", dir.appendingPathComponent("x").path]).run(), "a model is no checkpoint")
    }

    func testNewFlagsParseAndCheck() throws {
        let server = ["--data", "d", "--checkpoint-dir", "c"]
        XCTAssertTrue(try ServerCommand.parse(server + ["--fresh"]).fresh)
        XCTAssertTrue(try ServerCommand.parse(server + ["--resume"]).resume)
        XCTAssertThrowsError(try ServerCommand.parse(server + ["--fresh", "--resume"]))
        XCTAssertThrowsError(try ServerCommand.parse(["--data", "d", "--fresh"]), "--fresh needs --checkpoint-dir")
        XCTAssertEqual(try ServerCommand.parse(server).keepMode, .best)
        XCTAssertEqual(try ServerCommand.parse(server + ["--eval-split", "test"]).keepMode, .last, "no selection on test by default")
        XCTAssertEqual(try ServerCommand.parse(server + ["--eval-split", "test", "--keep", "best"]).keepMode, .best)
        XCTAssertThrowsError(try ServerCommand.parse(server + ["--keep", "first"]))
        XCTAssertThrowsError(try ServerCommand.parse(server + ["--patience", "3"]), "--patience needs --eval-every")
        XCTAssertNoThrow(try ServerCommand.parse(server + ["--patience", "3", "--eval-every", "100", "--valid-metric", "click-mrr@10"]))
        XCTAssertThrowsError(try ServerCommand.parse(server + ["--valid-metric", "purchase-recall@7"]))
        for flag in ["--fresh", "--resume", "--keep", "--patience", "--valid-metric"] {
            XCTAssertTrue(ServerCommand.helpMessage().contains(flag), flag)
        }
        let train = try TrainCommand.parse(["--data", "d", "--out", "run/m.safetensors", "--resume", "run/m.checkpoint.safetensors"])
        XCTAssertEqual(train.resume, "run/m.checkpoint.safetensors")
        XCTAssertTrue(TrainCommand.helpMessage().contains("--resume"))
        XCTAssertTrue(TrainCommand.helpMessage().contains("--checkpoint"))
        XCTAssertTrue(TrainCommand.defaultCheckpoint(out: "run/m.safetensors").hasSuffix("run/m.checkpoint.safetensors"))
        XCTAssertTrue(ExportCommand.helpMessage().contains("--out"))
    }
}
