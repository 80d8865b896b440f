import XCTest
import IRNNumerics
import IRNSupport
@testable import IRNAgents

final class TargetScheduleTests: XCTestCase {
    func testStepsScheduleFiresWhenAMultipleIsCrossed() {
        var s = TargetSchedule(every: 7, unit: .steps)
        var fired: [Int] = []
        for it in 1...10 where s.record(steps: 3, updates: 1) { fired.append(it) }
        // Steps 3, 6, 9, 12, 15, 18, 21, 24, 27, 30: multiples of 7 reached at 9, 15, 21, 30.
        XCTAssertEqual(fired, [3, 5, 7, 10])
        var d = TargetSchedule(every: 500, unit: .steps)
        var first = 0
        for it in 1...400 where d.record(steps: 3, updates: 1) { if first == 0 { first = it } }
        XCTAssertEqual(first, 167)
        XCTAssertEqual(d.refreshes, 2)
    }

    func testUpdatesSchedule() {
        var s = TargetSchedule(every: 2, unit: .updates)
        XCTAssertEqual((1...6).map { _ in s.record(steps: 3, updates: 1) }, [false, true, false, true, false, true])
    }

    /// The agent's target equals the online parameters right after each scheduled refresh
    /// and stays frozen in between.
    func testAgentRefreshesTargetExactlyOnSchedule() throws {
        var config = tinyConfig(.irnP)
        config.targetEvery = 7
        config.adam.learningRate = 1e-2
        let agent = try Agent(config: config)
        var refreshedAt: [Int] = []
        var lastTarget = agent.target
        for (it, w) in firstWindows(config, count: 10).enumerated() {
            try agent.iterate(w)
            if agent.target != lastTarget {
                XCTAssertEqual(agent.target, agent.parameters)
                refreshedAt.append(it + 1)
                lastTarget = agent.target
            }
        }
        XCTAssertEqual(refreshedAt, [3, 5, 7, 10])
    }
}

final class TrajectoryManagerTests: XCTestCase {
    /// A target network that "remembers" its last input item x and puts almost all softmax
    /// mass on x + 1 (mod N): trajectories from a state after feeding x are x+1, x+2, ...
    func peakedTarget(items N: Int) -> NetworkParameters {
        let H = N, G = 4 * H
        var p = NetworkParameters(shape: NetworkShape(items: N, hidden: H))
        var wx = [Float](repeating: 0, count: N * G)
        for x in 0..<N {
            for j in 0..<H {
                wx[x * G + j] = 10            // input gate open
                wx[x * G + H + j] = -10       // forget the past
                wx[x * G + 2 * H + j] = j == x ? 10 : 0   // write one-hot(x)
                wx[x * G + 3 * H + j] = 10    // output gate open
            }
        }
        p.tensors[ParameterGroup.inputWeights.rawValue] = wx
        var wp = [Float](repeating: 0, count: N * H)
        for q in 0..<H { wp[((q + 1) % N) * H + q] = 50 }
        p.tensors[ParameterGroup.policyWeights.rawValue] = wp
        return p
    }

    func testBreadthNDepthMTrajectoriesFollowThePeakedTarget() {
        let N = 7, M = 3, k = 2
        for (n, m) in [(1, 1), (2, 1), (1, 2), (2, 2), (3, 4)] {
            let tm = TrajectoryManager(shape: NetworkShape(items: N, hidden: N), slots: M, maxSteps: k, breadth: n, depth: m, lookahead: 3, seed: 5)
            var w = RolloutWindow(steps: k, slots: M, lookahead: 3)
            w.inputs = [2, 5, 0, 6, 1, 3]
            w.targets = [3, 6, 1, 0, 2, 4]
            w.active = [true, true, false, true, true, true]
            tm.run(target: peakedTarget(items: N), window: w, sample: true, bootstrap: false)
            // One root per trajectory: n per active (t, m), in index order.
            let activeIdx = (0..<(k * M)).filter { w.active[$0] }.map(Int32.init)
            XCTAssertEqual(tm.roots, activeIdx.flatMap { Array(repeating: $0, count: n) }, "\(n)x\(m)")
            XCTAssertEqual(tm.items.count, tm.roots.count * m)
            for (b, root) in tm.roots.enumerated() {
                let x = Int(w.inputs[Int(root)])
                for tau in 0..<m {
                    XCTAssertEqual(Int(tm.items[b * m + tau]), (x + 1 + tau) % N, "\(n)x\(m) branch \(b) tau \(tau)")
                }
            }
        }
    }

    /// From a flat target (all logits equal) the samples spread over all items.
    func testFlatTargetSamplesUniformly() {
        let N = 5, M = 4
        let tm = TrajectoryManager(shape: NetworkShape(items: N, hidden: 3), slots: M, maxSteps: 1, breadth: 50, depth: 2, lookahead: 1, seed: 8)
        var w = RolloutWindow(steps: 1, slots: M, lookahead: 1)
        w.inputs = [0, 1, 2, 3]; w.targets = [1, 2, 3, 4]; w.active = [true, true, true, true]
        var counts = [Int](repeating: 0, count: N)
        for _ in 0..<10 {
            tm.run(target: NetworkParameters(shape: NetworkShape(items: N, hidden: 3)), window: w, sample: true, bootstrap: false)
            for i in tm.items { counts[Int(i)] += 1 }
        }
        let total = counts.reduce(0, +)
        XCTAssertEqual(total, 10 * M * 50 * 2)
        for c in counts { XCTAssertEqual(Double(c) / Double(total), 0.2, accuracy: 0.03) }
    }
}

final class SessionWindowFeederTests: XCTestCase {
    func testWindowsFollowSessionsWithResetsAndLookahead() {
        var config = tinyConfig(.a3cF)
        config.slots = 2
        let f = SessionWindowFeeder(sessions: tinySessions(), config: config, seed: 1)
        var w = RolloutWindow(steps: 3, slots: 2, lookahead: 3)
        XCTAssertTrue(f.next(into: &w))
        // Slot 0: session 0 (0,1,2,2 / purchase last); slot 1: session 1 (3,4,4), ends after 2 steps, then session 2.
        XCTAssertEqual(w.inputs, [0, 3, 1, 4, 2, 1])
        XCTAssertEqual(w.targets, [1, 4, 2, 4, 2, 2])
        XCTAssertEqual(w.resets, [true, true, false, false, false, true])
        XCTAssertEqual(w.targetIsPurchase, [false, false, false, true, true, false])
        XCTAssertEqual(w.rewards, [1, 1, 1, 5, 5, 1])
        // Slot 0's session is over; slot 1 continues session 2 with 3, 4, 5 after target 2.
        XCTAssertEqual(Array(w.lookaheadItems[0..<3]), [-1, -1, -1])
        XCTAssertEqual(Array(w.lookaheadItems[3..<6]), [3, 4, 5])
        XCTAssertEqual(Array(w.lookaheadRewards[3..<6]), [1, 1, 1])
        XCTAssertTrue(f.next(into: &w))
        // Slot 0 runs through sessions 3 (5,0), 4 (2,3) and 5 (4,5,...), one reset per step;
        // slot 1 continues session 2.
        XCTAssertEqual(w.inputs, [5, 2, 2, 3, 4, 4])
        XCTAssertEqual(w.resets, [true, false, true, false, true, false])
        var windows = 2
        while f.next(into: &w) { windows += 1 }
        XCTAssertTrue(f.finished)
        // 8 sessions with 25 transitions over 2 slots end in a bounded number of windows.
        XCTAssertLessThanOrEqual(windows, 6)
    }

    func testDensityZeroTurnsPurchasesIntoClicks() {
        let config = tinyConfig(.irnP)
        let f = SessionWindowFeeder(sessions: tinySessions(), config: config, density: 0, seed: 1)
        var w = RolloutWindow(steps: 3, slots: 3, lookahead: 3)
        while f.next(into: &w) {
            XCTAssertFalse(w.targetIsPurchase.contains(true))
            XCTAssertEqual(w.rewards.reduce(0, +), 0)
        }
    }
}
