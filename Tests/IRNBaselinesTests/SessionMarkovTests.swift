import XCTest
import IRNData
import IRNNumerics
@testable import IRNBaselines

final class SessionMarkovTests: XCTestCase {
    // [1,3,1]: 1->3, 3->1. [2,3,0]: 2->3, 3->0. [3,1,2,4]: 3->1, 1->2, 2->4.
    // So 3's followers: 1 (x2), 0 (x1); popularity 1 x3, 3 x3, 2 x2, 0 x1, 4 x1, 5 x0.
    private let train = sessionSet([[1, 3, 1], [2, 3, 0], [3, 1, 2, 4]])

    /// Session 2 3: the session's items in S-POP order (3 most recent, then 2), then 3's
    /// followers by count (1 then 0), then the rest by popularity (4, 5).
    func testTiers() {
        let m = SessionMarkovModel(train: train, itemCount: 6)
        let s = scores(m, after: [2, 3])
        XCTAssertEqual((0..<6).sorted { s[$0] > s[$1] }, [3, 2, 1, 0, 4, 5])
        // With nothing fed: popularity, as spop.
        let e = scores(m, after: [-1])
        XCTAssertEqual(e, scores(SessionRepeatModel(train: train, itemCount: 6), after: [-1]))
    }

    func testSaveAndLoadGiveTheSameScores() throws {
        let m = SessionMarkovModel(train: train, itemCount: 6)
        let back = try BaselinePersistence.load(BaselinePersistence.archive(m))
        XCTAssertEqual(scores(back, after: [2, 3, 1]), scores(m, after: [2, 3, 1]))
        XCTAssertEqual((back as? SessionMarkovModel)?.table.checksum, m.table.checksum)
    }
}
