import XCTest
@testable import IRNData
import IRNSupport

final class SessionEnvironmentTests: XCTestCase {
    /// Sessions: 0 = [10, 11, 12], 1 = [20] (too short: skipped), 2 = [30, 31], 3 = [40, 41, 42, 43].
    private func sessions() -> SessionSet {
        var s = SessionSet()
        for (id, items) in [(100, [10, 11, 12]), (101, [20]), (102, [30, 31]), (103, [40, 41, 42, 43])] {
            s.append(id: Int64(id), items: items.map { Int32($0) },
                     types: items.map { $0 == 43 || $0 == 12 ? UInt8(1) : 0 }, times: items.map { Int64($0) })
        }
        return s
    }

    func testSlotsResetsAndIdle() {
        let env = SessionEnvironment(sessions: sessions(), order: [0, 1, 2, 3], slots: 2)
        var trace: [String] = []
        while env.step() {
            trace.append((0..<2).map { k in
                env.active[k] ? "\(env.reset[k] ? "R" : "")\(env.input[k])>\(env.target[k])/\(env.targetType[k])" : "-"
            }.joined(separator: " "))
        }
        XCTAssertEqual(trace, [
            "R10>11/0 R30>31/0",   // slot 1 skips the one-event session 1
            "11>12/1 R40>41/0",
            "- 41>42/0",           // slot 0 found nothing left: idle
            "- 42>43/1",
        ])
        XCTAssertEqual(env.stepsTaken, 4)
        XCTAssertEqual(env.sessionsStarted, 3)
        XCTAssertFalse(env.step(), "stays over")
        XCTAssertEqual(env.input, [-1, -1])
        XCTAssertEqual(env.active, [false, false])
    }

    func testPositionsAndSessionsPointAtTheTargetEvent() {
        let s = sessions()
        let env = SessionEnvironment(sessions: s, order: [3, 0, 2], slots: 1)
        var targets: [Int32] = []
        while env.step() {
            let e = s.offsets[Int(env.session[0])] + Int(env.position[0]) + 1
            XCTAssertEqual(s.items[e], env.target[0])
            XCTAssertEqual(s.items[e - 1], env.input[0])
            targets.append(env.target[0])
        }
        XCTAssertEqual(targets, [41, 42, 43, 11, 12, 31])
    }

    /// Every (input, target) pair of every session comes out exactly once, in session order,
    /// whatever the number of slots: a session of length L yields L - 1 steps.
    func testEveryTransitionOnceForAnySlotCount() {
        var rng = RandomSource(seed: 17)
        var set = SessionSet()
        for k in 0..<200 {
            let n = 1 + rng.nextInt(below: 9)
            set.append(id: Int64(k), items: (0..<n).map { _ in Int32(rng.nextInt(below: 1000)) },
                       types: [UInt8](repeating: 0, count: n), times: (0..<n).map { Int64($0) })
        }
        let expectedSteps = (0..<set.count).reduce(0) { $0 + max(0, set.length(of: $1) - 1) }
        for slots in [1, 3, 16, 500] {
            let env = SessionEnvironment(sessions: set, order: Array(0..<set.count), slots: slots)
            var perSession = [[Int32]](repeating: [], count: set.count)
            var transitions = 0
            while env.step() {
                for k in 0..<slots where env.active[k] {
                    let s = Int(env.session[k])
                    if env.reset[k] { XCTAssertTrue(perSession[s].isEmpty) } else { XCTAssertFalse(perSession[s].isEmpty) }
                    perSession[s].append(env.target[k])
                    transitions += 1
                }
            }
            XCTAssertEqual(transitions, expectedSteps)
            for s in 0..<set.count { XCTAssertEqual(perSession[s], Array(set.items[set.range(of: s)].dropFirst())) }
        }
    }

    func testShuffledOrderIsADeterministicPermutationPerEpoch() {
        let idx = Array(0..<1000)
        let a = SessionEnvironment.shuffledOrder(idx, seed: 7, epoch: 0)
        XCTAssertEqual(a, SessionEnvironment.shuffledOrder(idx, seed: 7, epoch: 0))
        XCTAssertEqual(a.sorted(), idx)
        XCTAssertNotEqual(a, idx)
        XCTAssertNotEqual(a, SessionEnvironment.shuffledOrder(idx, seed: 7, epoch: 1))
        XCTAssertNotEqual(a, SessionEnvironment.shuffledOrder(idx, seed: 8, epoch: 0))
        XCTAssertEqual(SessionEnvironment.shuffledOrder([5], seed: 1, epoch: 3), [5])
        XCTAssertEqual(SessionEnvironment.shuffledOrder([], seed: 1, epoch: 3), [])
    }

    func testRewardModelDensityIsSeededPerEventAndOrderFree() {
        let full = RewardModel(clickReward: 1, seed: 1)
        XCTAssertEqual(full.reward(eventIndex: 3, type: 1), 5)
        XCTAssertEqual(full.reward(eventIndex: 3, type: 0), 1)
        let p = RewardModel(clickReward: 0, density: 0, seed: 1)
        XCTAssertFalse(p.isPurchase(eventIndex: 3, type: 1))
        XCTAssertEqual(p.reward(eventIndex: 3, type: 1), 0, "a dropped purchase counts as a click")
        let d = RewardModel(clickReward: 0, density: 0.3, seed: 42)
        let n = 20_000
        let kept = (0..<n).filter { d.isPurchase(eventIndex: $0, type: 1) }
        // Binomial(20000, 0.3): sd about 65; 5 sd band.
        XCTAssertEqual(Double(kept.count), 0.3 * Double(n), accuracy: 325)
        XCTAssertFalse((0..<n).contains { d.isPurchase(eventIndex: $0, type: 0) }, "clicks never become purchases")
        // Asking in another order gives the same answers; another seed gives other ones.
        XCTAssertEqual((0..<n).reversed().filter { d.isPurchase(eventIndex: $0, type: 1) }.reversed(), kept)
        let other = RewardModel(clickReward: 0, density: 0.3, seed: 43)
        XCTAssertNotEqual((0..<n).filter { other.isPurchase(eventIndex: $0, type: 1) }, kept)
    }
}
