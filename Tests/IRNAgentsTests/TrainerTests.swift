import Foundation
import IRNData
import IRNEvaluation
import IRNNumerics
import IRNSupport
import XCTest
@testable import IRNAgents

final class TrainerTests: XCTestCase {
    func testTrainsWritesAModelThatLoadsAndEvaluates() throws {
        let data = tinyPrepared()
        let dir = scratchDirectory("e2e")
        var o = TrainerOptions()
        o.epochs = 3
        o.patience = nil
        let trainer = try Trainer(config: tinyTrainerConfig(.irnP), options: o, dataset: data)
        trainer.showProgress = false; trainer.showEpochSummaries = false
        trainer.modelURL = dir.appendingPathComponent("m.safetensors")
        trainer.logURL = dir.appendingPathComponent("m.safetensors.log.json")
        let log = try trainer.run()
        XCTAssertEqual(log.status, "completed")
        XCTAssertEqual(log.epochs.count, 3)
        // Every epoch fed every transition of train_tr once.
        let transitions = data.trainTr.eventCount - data.trainTr.count
        for e in log.epochs { XCTAssertEqual(e.events, transitions); XCTAssertGreaterThan(e.iterations, 0) }

        let model = try AgentCheckpoint.read(from: trainer.modelURL!)
        XCTAssertEqual(model.config, trainer.config)
        XCTAssertEqual(model.epoch, log.bestEpoch)
        XCTAssertEqual(model.validMetric, "purchase-recall@5")
        XCTAssertEqual(model.validValue, log.bestValue)
        let result = try Evaluator.evaluate(AgentRecommender(checkpoint: model), on: data.test, options: EvaluationOptions(threads: 1))
        XCTAssertEqual(result.purchase.count + result.click.count, data.test.eventCount - data.test.count)
        // The structure (buy the item just clicked; next item = i + 1) is learnable: well above
        // a uniform ranking's 5/12 on purchases after three epochs.
        XCTAssertGreaterThan(result.recall(.purchase, at: 5)!, 0.6)

        let logged = try JSONDecoder().decode(TrainingLog.self, from: Data(contentsOf: trainer.logURL!))
        XCTAssertEqual(logged.epochs.count, 3)
        XCTAssertEqual(logged.bestEpoch, log.bestEpoch)
        XCTAssertNotNil(logged.epochs[0].valid["purchase_recall@5"])
    }

    func testEarlyStoppingKeepsTheBestEpoch() throws {
        let data = tinyPrepared()
        let dir = scratchDirectory("early")
        var config = tinyTrainerConfig(.a3cP)
        config.adam.learningRate = 0.3  // unstable on purpose: validation peaks, then falls back
        var o = TrainerOptions()
        o.epochs = 12
        o.patience = 2
        let trainer = try Trainer(config: config, options: o, dataset: data)
        trainer.showProgress = false; trainer.showEpochSummaries = false
        trainer.modelURL = dir.appendingPathComponent("m.safetensors")
        let log = try trainer.run()
        XCTAssertEqual(log.status, "early-stopped")
        let values = log.epochs.map { $0.validValue! }
        let bestEpoch = log.bestEpoch!
        // The best is the first epoch reaching the maximum; two epochs without improvement follow.
        XCTAssertEqual(values.firstIndex(of: values.max()!)! + 1, bestEpoch)
        XCTAssertEqual(log.epochs.count, bestEpoch + 2)
        // The file holds that epoch's parameters: re-ranking the valid split gives its figure.
        let model = try AgentCheckpoint.read(from: trainer.modelURL!)
        XCTAssertEqual(model.epoch, bestEpoch)
        let again = try Evaluator.evaluate(AgentRecommender(checkpoint: model), on: data.valid,
                                           options: EvaluationOptions(cutoffs: [3, 5, 10, 20], threads: 1))
        XCTAssertEqual(again.recall(.purchase, at: 5), values.max())
        XCTAssertNotEqual(model.parameters, trainer.agent.parameters)
    }

    func testKeepLastWritesTheFinalEpoch() throws {
        let dir = scratchDirectory("last")
        var o = TrainerOptions()
        o.epochs = 3
        o.patience = nil
        o.keepLast = true
        o.trainSplit = .train
        let trainer = try Trainer(config: tinyTrainerConfig(.a3cP), options: o, dataset: tinyPrepared())
        trainer.showProgress = false; trainer.showEpochSummaries = false
        trainer.modelURL = dir.appendingPathComponent("m.safetensors")
        let log = try trainer.run()
        let model = try AgentCheckpoint.read(from: trainer.modelURL!)
        XCTAssertEqual(model.epoch, 3)
        XCTAssertEqual(log.bestEpoch, 3)
        XCTAssertEqual(model.parameters, trainer.agent.parameters)
        // train holds train_tr plus the validation sessions.
        XCTAssertEqual(log.epochs[0].events, trainer.dataset.train.eventCount - trainer.dataset.train.count)
        o.patience = 2
        XCTAssertThrowsError(try Trainer(config: tinyTrainerConfig(.a3cP), options: o, dataset: tinyPrepared()))
    }

    func testStopBeforeFirstValidationWritesTheCurrentModel() throws {
        let data = tinyPrepared()
        let dir = scratchDirectory("stop0")
        let stop = StopFlag()
        let trainer = try Trainer(config: tinyTrainerConfig(.irnF), options: TrainerOptions(), dataset: data)
        trainer.showProgress = false; trainer.showEpochSummaries = false
        trainer.modelURL = dir.appendingPathComponent("m.safetensors")
        trainer.logURL = dir.appendingPathComponent("log.json")
        trainer.iterationHook = { i, _ in if i == 3 { stop.request("test") } }
        let log = try trainer.run(stop: stop)
        XCTAssertEqual(log.status, "interrupted")
        XCTAssertEqual(log.interruptedAtIteration, 3)
        XCTAssertEqual(trainer.iteration, 3)  // the current iteration finished, no further one
        let model = try AgentCheckpoint.read(from: trainer.modelURL!)
        XCTAssertEqual(model.epoch, 0)
        XCTAssertNil(model.validValue)
        XCTAssertEqual(model.parameters, trainer.agent.parameters)
        let logged = try JSONDecoder().decode(TrainingLog.self, from: Data(contentsOf: trainer.logURL!))
        XCTAssertEqual(logged.status, "interrupted")
        XCTAssertEqual(logged.epochs.first?.completed, false)
    }

    func testStopAfterAnEpochKeepsTheBestSoFar() throws {
        let data = tinyPrepared()
        let dir = scratchDirectory("stop1")
        let stop = StopFlag()
        var o = TrainerOptions()
        o.patience = nil
        let trainer = try Trainer(config: tinyTrainerConfig(.prnP), options: o, dataset: data)
        trainer.showProgress = false; trainer.showEpochSummaries = false
        trainer.modelURL = dir.appendingPathComponent("m.safetensors")
        var perEpoch = 0
        trainer.iterationHook = { i, _ in if trainer.epochsCompleted == 0 { perEpoch = i } else if i == perEpoch + 2 { stop.request("test") } }
        let log = try trainer.run(stop: stop)
        XCTAssertEqual(log.status, "interrupted")
        XCTAssertEqual(trainer.epochsCompleted, 1)
        let model = try AgentCheckpoint.read(from: trainer.modelURL!)
        XCTAssertEqual(model.epoch, 1)
        XCTAssertEqual(model.parameters, trainer.best!.parameters)
        XCTAssertNotEqual(model.parameters, trainer.agent.parameters)  // two more updates happened
    }

    func testSignalHandlerTurnsSIGINTIntoAStopRequest() throws {
        let flag = StopFlag()
        SignalCounters.exitOnRepeat = false  // a second SIGINT must not end the test process
        defer { SignalCounters.exitOnRepeat = true }
        let handler = TrainerSignalHandler(signal: SIGINT, flag: flag)
        defer { handler.cancel() }
        XCTAssertFalse(flag.isRequested)
        raise(SIGINT)  // the handler runs before raise returns
        XCTAssertTrue(flag.isRequested)
        XCTAssertEqual(flag.why, "SIGINT")
        raise(SIGINT)
        XCTAssertEqual(handler.received, 2)
        // A trainer with this flag stops after its first iteration and leaves a model.
        let dir = scratchDirectory("sig")
        let trainer = try Trainer(config: tinyTrainerConfig(.a3cP), options: TrainerOptions(), dataset: tinyPrepared())
        trainer.showProgress = false; trainer.showEpochSummaries = false
        trainer.modelURL = dir.appendingPathComponent("m.safetensors")
        let log = try trainer.run(stop: flag)
        XCTAssertEqual(log.status, "interrupted")
        XCTAssertEqual(trainer.iteration, 1)
        XCTAssertEqual(try AgentCheckpoint.read(from: trainer.modelURL!).parameters, trainer.agent.parameters)
    }

    func testSameSeedGivesTheSameModelBytes() throws {
        let data = tinyPrepared()
        let dir = scratchDirectory("repro")
        func train(_ name: String, seed: UInt64) throws -> Data {
            var o = TrainerOptions()
            o.epochs = 2
            o.density = 0.5
            let t = try Trainer(config: tinyTrainerConfig(.irnF, seed: seed), options: o, dataset: data)
            t.showProgress = false; t.showEpochSummaries = false
            t.modelURL = dir.appendingPathComponent(name)
            _ = try t.run()
            return try Data(contentsOf: t.modelURL!)
        }
        let a = try train("a", seed: 7), b = try train("b", seed: 7), c = try train("c", seed: 8)
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, c)
    }

    func testBadOptionsAreRejected() {
        let data = tinyPrepared()
        var o = TrainerOptions()
        o.density = 1.5
        XCTAssertThrowsError(try Trainer(config: tinyTrainerConfig(.irnP), options: o, dataset: data)) {
            XCTAssertTrue("\($0)".contains("--reward-density"))
        }
        XCTAssertThrowsError(try Trainer(config: tinyTrainerConfig(.irnP, items: 13), options: TrainerOptions(), dataset: data)) {
            XCTAssertTrue("\($0)".contains("13 items"))
        }
        XCTAssertThrowsError(try ValidationMetric(parsing: "purchase-recall5"))
        XCTAssertEqual(try ValidationMetric(parsing: "click-mrr@10").description, "click-mrr@10")
    }
}

final class TrainerModelFileTests: XCTestCase {
    func testCheckpointRoundTripsAndMismatchesAreNamed() throws {
        let dir = scratchDirectory("ckpt")
        let config = tinyTrainerConfig(.irnP)
        let params = NetworkParameters(shape: config.shape, seed: 11)
        let url = dir.appendingPathComponent("m.safetensors")
        try AgentCheckpoint(config: config, parameters: params, epoch: 4, validMetric: "purchase-recall@5", validValue: 0.25).write(to: url)
        XCTAssertTrue(AgentCheckpoint.isAgentModel(url))
        let back = try AgentCheckpoint.read(from: url)
        XCTAssertEqual(back.parameters, params)
        XCTAssertEqual(back.config, config)
        XCTAssertEqual(back.epoch, 4)
        XCTAssertEqual(back.validValue, 0.25)

        // A tensor of the wrong shape: the message names it and both shapes.
        var f = try SafetensorsFile.read(from: url)
        f["policy.weight"] = SafetensorsTensor(floats: [Float](repeating: 0, count: 13 * 8), shape: [13, 8])
        XCTAssertThrowsError(try AgentCheckpoint.decode(f, source: "x")) { e in
            XCTAssertTrue("\(e)".contains("policy.weight has shape [13, 8], expected [12, 8]"), "\(e)")
        }
        f["policy.weight"] = nil
        XCTAssertThrowsError(try AgentCheckpoint.decode(f, source: "x")) { XCTAssertTrue("\($0)".contains("policy.weight is missing")) }
        // Metadata that disagrees with the config, and files of another format.
        var g = try SafetensorsFile.read(from: url)
        g.metadata["items"] = "99"
        XCTAssertThrowsError(try AgentCheckpoint.decode(g, source: "x")) { XCTAssertTrue("\($0)".contains("99 items")) }
        g.metadata["format"] = "other"
        XCTAssertThrowsError(try AgentCheckpoint.decode(g, source: "x")) { XCTAssertTrue("\($0)".contains("not an agent model")) }
        let other = dir.appendingPathComponent("other.safetensors")
        try g.write(to: other)
        XCTAssertFalse(AgentCheckpoint.isAgentModel(other))
        try Data("IRNMDL01 not safetensors".utf8).write(to: other)
        XCTAssertFalse(AgentCheckpoint.isAgentModel(other))
    }

    func testBothHeadsRoundTripAndAHeadMismatchIsNamed() throws {
        let dir = scratchDirectory("ckpt-heads")
        var plain = tinyTrainerConfig(.a3cP)
        plain.head = .plain
        var repeatAware = plain
        repeatAware.head = .repeatAware(features: [true, true, true, true], gate: .state)
        for config in [plain, repeatAware] {
            let params = config.initialParameters()
            let url = dir.appendingPathComponent("\(config.head.isRepeat ? "repeat" : "plain").safetensors")
            try AgentCheckpoint(config: config, parameters: params, epoch: 1).write(to: url)
            let back = try AgentCheckpoint.read(from: url)
            XCTAssertEqual(back.parameters, params)
            XCTAssertEqual(back.config.head, config.head)
            XCTAssertEqual(try SafetensorsFile.read(from: url).tensors.count, config.head.isRepeat ? 9 : 7)
        }
        // A plain file whose config claims the repeat head lacks the gate tensors: named.
        var f = try SafetensorsFile.read(from: dir.appendingPathComponent("plain.safetensors"))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        f.metadata["config"] = String(decoding: try encoder.encode(repeatAware), as: UTF8.self)
        XCTAssertThrowsError(try AgentCheckpoint.decode(f, source: "x")) { XCTAssertTrue("\($0)".contains("head.gate.weight is missing"), "\($0)") }
    }

    func testAModelWrittenBeforeAConfigFieldExistedStillLoads() throws {
        let config = tinyTrainerConfig(.irnP)
        var f = try AgentCheckpoint(config: config, parameters: config.initialParameters(), epoch: 2).file()
        var stored = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(f.metadata["config"]!.utf8)) as? [String: Any])
        XCTAssertNotNil(stored.removeValue(forKey: "head"), "the config JSON names the head")
        stored.removeValue(forKey: "repeatGateInit")
        f.metadata["config"] = String(decoding: try JSONSerialization.data(withJSONObject: stored), as: UTF8.self)
        let back = try AgentCheckpoint.decode(f, source: "old")
        XCTAssertEqual(back.config, config, "missing fields take their defaults")
        f.metadata["config"] = "{\"items\": 12}"
        XCTAssertThrowsError(try AgentCheckpoint.decode(f, source: "old")) { XCTAssertTrue("\($0)".contains("config")) }
    }

    func testRecommenderScoresAreScoreStepLogits() {
        let shape = NetworkShape(items: 9, hidden: 5)
        let params = NetworkParameters(shape: shape, seed: 21)
        let rec = AgentRecommender(parameters: params)
        var scorer = rec.makeScorer(slots: 2)
        // Two sessions in lock step; slot 1 is idle at step 2 and restarts at step 3.
        let inputs: [[Int32]] = [[1, 4], [2, 7], [3, 0], [5, 6]]
        let active: [[Bool]] = [[true, true], [true, true], [true, false], [true, true]]
        scorer.reset(slot: 0); scorer.reset(slot: 1)
        // Reference: one single-slot state per session fed through scoreStep directly.
        var ref = [RecurrentState(slots: 1, hidden: 5), RecurrentState(slots: 1, hidden: 5)]
        var scores = [Float](repeating: 0, count: 2 * 9)
        var expected = [Float](repeating: 0, count: 9)
        for t in 0..<4 {
            if t == 3 { scorer.reset(slot: 1); ref[1].resetAll() }
            inputs[t].withUnsafeBufferPointer { i in
                active[t].withUnsafeBufferPointer { a in
                    scores.withUnsafeMutableBufferPointer { s in scorer.step(inputs: i, active: a, scores: s) }
                }
            }
            for m in 0..<2 where active[t][m] {
                [inputs[t][m]].withUnsafeBufferPointer { i in
                    expected.withUnsafeMutableBufferPointer { e in params.scoreStep(inputs: i, resets: nil, state: &ref[m], logits: e) }
                }
                XCTAssertEqual(Array(scores[(m * 9)..<((m + 1) * 9)]), expected, "step \(t) slot \(m)")
            }
        }
    }
}

final class TrainerFeederTests: XCTestCase {
    func testDensityIsTheRewardModelsPerEventDraw() {
        let data = tinyPrepared(train: 60)
        let sessions = data.trainTr
        let order = SessionEnvironment.shuffledOrder(Array(0..<sessions.count), seed: 4, epoch: 1)
        let f = SessionWindowFeeder(sessions: sessions, order: order, slots: 3, steps: 3, lookahead: 3,
                                    purchaseReward: 5, clickReward: 0, density: 0.5, seed: 77)
        let model = RewardModel(purchaseReward: 5, clickReward: 0, density: 0.5, seed: 77)
        var kept = 0, dropped = 0
        for e in 0..<sessions.eventCount {
            XCTAssertEqual(f.isPurchase(event: e), model.isPurchase(eventIndex: e, type: sessions.types[e]))
            if sessions.types[e] == EventType.purchase.rawValue { if f.isPurchase(event: e) { kept += 1 } else { dropped += 1 } }
        }
        XCTAssertGreaterThan(kept, 0)
        XCTAssertGreaterThan(dropped, 0)
        // The windows replay SessionEnvironment's steps, and each target's reward is its event's.
        let env = SessionEnvironment(sessions: sessions, order: order, slots: 3)
        var w = RolloutWindow(steps: 3, slots: 3, lookahead: 3)
        var steps = 0, fed = 0
        while f.next(into: &w) {
            for t in 0..<3 {
                let any = w.active[(t * 3)..<(t * 3 + 3)].contains(true)
                if !any { continue }
                XCTAssertTrue(env.step())
                steps += 1
                for m in 0..<3 {
                    let i = t * 3 + m
                    XCTAssertEqual(w.active[i], env.active[m])
                    guard env.active[m] else { continue }
                    fed += 1
                    XCTAssertEqual(w.inputs[i], env.input[m]); XCTAssertEqual(w.targets[i], env.target[m]); XCTAssertEqual(w.resets[i], env.reset[m])
                    let e = sessions.offsets[Int(env.session[m])] + Int(env.position[m]) + 1
                    XCTAssertEqual(w.targetIsPurchase[i], model.isPurchase(eventIndex: e, type: sessions.types[e]))
                    XCTAssertEqual(w.rewards[i], model.reward(eventIndex: e, type: sessions.types[e]))
                }
            }
        }
        XCTAssertFalse(env.step())
        XCTAssertTrue(f.finished)
        XCTAssertEqual(fed, sessions.eventCount - sessions.count)
        XCTAssertEqual(f.transitionsFed, fed)
    }
}
