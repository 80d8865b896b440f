import XCTest
import IRNData
@testable import IRNBaselines

final class SessionKNNTests: XCTestCase {
    /// T0 {0,1} t=10, T1 {1,2} t=20, T2 {0,1,2,3} t=30, T3 {4,5} t=40, T4 {1,5} t=50.
    /// Against {1}: T4, T1, T0 have cosine 1/sqrt(2), T2 1/2.
    /// Recency ranks: T4 0, T3 1, T2 2, T1 3, T0 4.
    private let train = sessionSet([[0, 1, 0], [1, 2], [0, 1, 2, 3], [4, 5], [5, 1]], times: [10, 20, 30, 40, 50])

    private func model(k: Int = 100, sample: Int = 500, sim: KNNSimilarity = .cosine) -> SessionKNNModel {
        SessionKNNModel(train: train, itemCount: 6, config: .init(k: k, sampleSize: sample, similarity: sim))
    }

    func testIndexOrdersSessionsByRecencyWithDistinctItems() {
        let m = model()
        XCTAssertEqual(m.sessionOffsets, [0, 2, 4, 8, 10, 12])
        XCTAssertEqual(m.sessionItems, [1, 5, 4, 5, 0, 1, 2, 3, 1, 2, 0, 1])
    }

    /// Session {1}: sharing sessions T4, T2, T1, T0; sample 2 keeps the most recent, T4 and
    /// T2; cosine 1/sqrt(2) and 1/sqrt(4).
    func testSamplingKeepsMostRecentSharingSessions() {
        let nb = model(sample: 2).neighbours(of: [1])
        XCTAssertEqual(nb.map(\.session), [0, 2])
        XCTAssertEqual(nb[0].similarity, 1 / Float(2).squareRoot(), accuracy: 1e-6)
        XCTAssertEqual(nb[1].similarity, 0.5, accuracy: 1e-6)
        let all = model().neighbours(of: [1])
        XCTAssertEqual(all.map(\.session), [0, 3, 4, 2])  // T4, T1, T0 tie at 1/sqrt(2): more recent first
        let s = scores(model(sample: 2), after: [1])
        let r2: Float = 1 / Float(2).squareRoot()
        for (i, v) in [0.5, r2 + 0.5, 0.5, 0.5, 0, r2].enumerated() { XCTAssertEqual(s[i], v, accuracy: 1e-6, "item \(i)") }
    }

    /// Session {0, 2}: T2 2/sqrt(8), T0 and T1 1/sqrt(4) each; k = 2 keeps T2 and, of the
    /// tie, the more recent T1.
    func testKNearestAndItemScores() {
        let s = scores(model(k: 2), after: [0, 2])
        let a: Float = 2 / Float(8).squareRoot()
        for (i, v) in [a, a + 0.5, a + 0.5, a, 0, 0].enumerated() { XCTAssertEqual(s[i], v, accuracy: 1e-6, "item \(i)") }
        // Repeating an item does not change the set, nor does a cold-start (-1) step.
        XCTAssertEqual(scores(model(k: 2), after: [0, 2, 0, -1]), s)
    }

    func testReferenceCosineVariant() {
        let nb = model(sim: .referenceCosine).neighbours(of: [0, 2])
        XCTAssertEqual(nb.map(\.session), [2, 3, 4])
        XCTAssertEqual(nb[0].similarity, 2 / Float(2).squareRoot() * 2, accuracy: 1e-5)
        XCTAssertEqual(nb[1].similarity, 1, accuracy: 1e-6)
    }

    func testEmptySessionScoresNothing() {
        XCTAssertEqual(scores(model(), after: [-1]), [0, 0, 0, 0, 0, 0])
    }
}
