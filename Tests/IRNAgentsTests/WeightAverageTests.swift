import Foundation
import XCTest
import IRNData
import IRNEvaluation
import IRNNumerics
@testable import IRNAgents

/// `--average-weights`: the moving average of the weights that validation, models and serving use.
final class WeightAverageTests: XCTestCase {
    /// After each step the average is d_t avg + (1 - d_t) theta with the warm-up decay
    /// d_t = min(d, (1 + t) / (10 + t)) for the step that makes version t, recomputed here from the live weights step by step;
    /// the live weights are those of training without the flag (bit for bit).
    func testAverageFollowsTheLiveWeightsWithTheWarmUpDecay() throws {
        var config = tinyConfig(.a3cP)
        config.adam.learningRate = 1e-2
        var averaged = config
        averaged.weightAverage = 0.9
        let plain = try Agent(config: config), agent = try Agent(config: averaged)
        var expected = agent.parameters.tensors.map { $0.map(Double.init) }
        XCTAssertEqual(agent.evaluationParameters, agent.parameters, "before any step the average is the initialisation")
        for (t, w) in firstWindows(config, count: 30).enumerated() {
            try plain.iterate(w)
            try agent.iterate(w)
            let d = Double(ModelState.averageDecay(0.9, version: UInt64(t + 1)))  // step t makes version t + 1
            for i in expected.indices {
                for j in expected[i].indices { expected[i][j] = d * expected[i][j] + (1 - d) * Double(agent.parameters.tensors[i][j]) }
            }
        }
        XCTAssertEqual(agent.parameters, plain.parameters, "the average does not change training")
        XCTAssertEqual(plain.evaluationParameters, plain.parameters, "without the flag the model is the live weights")
        let avg = agent.evaluationParameters
        XCTAssertNotEqual(avg, agent.parameters)
        for i in expected.indices {
            for j in expected[i].indices { XCTAssertEqual(Double(avg.tensors[i][j]), expected[i][j], accuracy: 1e-5) }
        }
        // The warm-up: the first step (version 1) keeps 2/11 of the initialisation, later ones reach d.
        XCTAssertEqual(ModelState.averageDecay(0.99, version: 1), 2 / 11, accuracy: 1e-7)
        XCTAssertEqual(ModelState.averageDecay(0.99, version: 10_000), 0.99)
    }

    /// A training checkpoint carries the average (a resumed run continues it); one without it
    /// is refused for a config that keeps one.
    func testCheckpointCarriesTheAverage() throws {
        var config = tinyConfig(.irnP)
        config.weightAverage = 0.95
        var m = ModelState(config: config)
        var g = NetworkGradient(shape: config.shape)
        let worker = try GradientWorker(config: config)
        for w in firstWindows(config, count: 4) {
            _ = try worker.computeGradient(w, parameters: m.parameters, target: m.target, into: &g)
            m.apply(g)
        }
        var back = ModelState(config: config)
        try back.restore(from: m.checkpointTensors())
        XCTAssertEqual(back.averaged, m.averaged)
        XCTAssertNotEqual(back.averaged, back.parameters)
        var t = m.checkpointTensors()
        t = t.filter { !$0.key.hasPrefix("average.") }
        XCTAssertThrowsError(try back.restore(from: t)) { XCTAssertTrue("\($0)".contains("average."), "\($0)") }
    }

    /// `irn train --keep last` writes the average, and validation ranks it.
    func testTrainerValidatesAndWritesTheAverage() throws {
        let dir = scratchDirectory("avg")
        var o = TrainerOptions()
        o.epochs = 2
        o.patience = nil
        o.keepLast = true
        o.trainSplit = .train
        var config = tinyTrainerConfig(.a3cP)
        config.weightAverage = 0.9
        let trainer = try Trainer(config: config, options: o, dataset: tinyPrepared())
        trainer.showProgress = false; trainer.showEpochSummaries = false
        trainer.modelURL = dir.appendingPathComponent("m.safetensors")
        let log = try trainer.run()
        let model = try AgentCheckpoint.read(from: trainer.modelURL!)
        XCTAssertEqual(model.parameters, trainer.agent.evaluationParameters)
        XCTAssertNotEqual(model.parameters, trainer.agent.parameters)
        XCTAssertEqual(model.config.weightAverage, 0.9)
        let valid = try Evaluator.evaluate(AgentRecommender(parameters: trainer.agent.evaluationParameters), on: trainer.dataset.valid,
                                           options: EvaluationOptions(cutoffs: [3, 5, 10, 20], threads: o.evalThreads, slots: o.evalSlots))
        XCTAssertEqual(log.epochs.last!.validValue, o.validMetric.value(in: valid))
    }

    func testDecayOutsideTheOpenUnitIntervalIsRefused() {
        for d: Float in [0, 1, -0.5, 1.5] {
            var c = tinyConfig(.a3cP)
            c.weightAverage = d
            XCTAssertThrowsError(try c.validate()) { XCTAssertTrue("\($0)".contains("--average-weights"), "\($0)") }
        }
    }
}
