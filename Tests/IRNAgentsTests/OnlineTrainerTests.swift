import XCTest
import IRNData
import IRNEvaluation
import IRNNumerics
@testable import IRNAgents

/// Online learning: one chronological pass, each event trained on once, each purchase ranked
/// by the model before the update that uses it.
final class OnlineTrainerTests: XCTestCase {
    /// Sessions whose events are all distinct items (event e of session s is item 5s + e), with
    /// first-event times in an order unrelated to the session index.
    private func distinctEventSessions(count: Int) -> SessionSet {
        var s = SessionSet()
        for k in 0..<count {
            let length = 2 + (k * 7) % 4
            let items = (0..<length).map { Int32(5 * k + $0) }
            var types = [UInt8](repeating: EventType.click.rawValue, count: length)
            if k % 2 == 0 { types[length - 1] = EventType.purchase.rawValue }
            let start = Int64((k * 37) % count) * 100
            s.append(id: Int64(k), items: items, types: types, times: (0..<length).map { start + Int64($0) })
        }
        return s
    }

    func testEveryEventOnceInTimeOrder() throws {
        let sessions = distinctEventSessions(count: 20)
        var config = tinyTrainerConfig(.irnP, items: 100)
        config.window = 2
        var o = OnlineTrainer.Options()
        o.reportEvery = 3
        o.evalEvery = 0
        let trainer = try OnlineTrainer(config: config, trainSet: sessions, testSet: SessionSet(), options: o)
        var fed: [Int32] = []
        var firstSeen: [Int: Int] = [:]  // session -> position of its first target in the pass
        trainer.windowHook = { w in
            for t in 0..<w.steps {
                for m in 0..<w.slots where w.active[t * w.slots + m] {
                    let target = w.targets[t * w.slots + m]
                    if firstSeen[Int(target) / 5] == nil { firstSeen[Int(target) / 5] = fed.count }
                    fed.append(target)
                }
            }
        }
        let records = try trainer.run()
        var expected: [Int32] = []
        for k in 0..<sessions.count { expected += sessions.items[sessions.range(of: k)].dropFirst() }
        XCTAssertEqual(fed.sorted(), expected.sorted(), "every transition exactly once")
        XCTAssertEqual(records.last?.events, expected.count)
        XCTAssertEqual(records.reduce(0) { $0 + $1.trainPurchases }, sessions.purchaseCount)
        // Sessions start in the order they happened.
        let byTime = OnlineTrainer.chronologicalOrder(sessions)
        XCTAssertEqual(byTime.map { sessions.times[sessions.offsets[$0]] }, byTime.map { sessions.times[sessions.offsets[$0]] }.sorted())
        let starts = byTime.map { firstSeen[$0]! }
        XCTAssertEqual(starts, starts.sorted(), "a session never starts before an earlier one")
    }

    func testPurchasesAreRankedBeforeTheUpdateThatUsesThem() throws {
        // One window holds every session whole (one slot each, window as long as the longest
        // session), so the pass is a single update and every rank must be the initial model's.
        let data = tinyPrepared()
        let sessions = data.trainTr.subset(0..<12)
        var config = tinyTrainerConfig(.irnP)
        config.slots = 12
        config.window = (0..<sessions.count).map { sessions.length(of: $0) }.max()! - 1
        config.adam.learningRate = 0.5
        var o = OnlineTrainer.Options()
        o.cutoff = 3
        o.evalEvery = 0
        let trainer = try OnlineTrainer(config: config, trainSet: sessions, testSet: SessionSet(), options: o)
        let records = try trainer.run()
        XCTAssertEqual(records.count, 1)
        let before = try Evaluator.evaluate(AgentRecommender(parameters: config.initialParameters()), on: sessions,
                                            options: EvaluationOptions(cutoffs: [3]))
        let after = try Evaluator.evaluate(AgentRecommender(parameters: trainer.agent.parameters), on: sessions,
                                           options: EvaluationOptions(cutoffs: [3]))
        XCTAssertEqual(records[0].trainPurchases, before.purchase.count)
        XCTAssertEqual(records[0].trainRecall, before.recall(.purchase, at: 3)!, accuracy: 1e-12)
        XCTAssertEqual(records[0].trainMRR, before.mrr(.purchase, at: 3)!, accuracy: 1e-12)
        XCTAssertNotEqual(after.mrr(.purchase, at: 3), before.mrr(.purchase, at: 3),
                          "the update changes the ranks, so ranking after it would be caught")
    }
}
