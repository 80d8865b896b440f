import XCTest
import IRNData
@testable import IRNBaselines

final class PopularityTests: XCTestCase {
    // Item events: 0 x1, 1 x3, 2 x2, 3 x3, 4 x1, 5 x0.
    private let train = sessionSet([[1, 3, 1], [2, 3, 0], [3, 1, 2, 4]])

    func testPopularityScoresAreTrainingCounts() {
        let m = PopularityModel(train: train, itemCount: 6)
        XCTAssertEqual(scores(m, after: [0]), [1, 3, 2, 3, 1, 0])
        XCTAssertEqual(scores(m, after: [0, 4, 2]), [1, 3, 2, 3, 1, 0])
    }

    /// Session 2 3 2 4: 2 (seen twice) first, then 4 (once, most recent), then 3 (once,
    /// earlier), then the rest by popularity: 1 (3 events) before 0 (1 event) before 5 (0).
    func testSessionRepeatTieOrder() {
        let m = SessionRepeatModel(train: train, itemCount: 6)
        let s = scores(m, after: [2, 3, 2, 4])
        let order = (0..<6).sorted { s[$0] > s[$1] }
        XCTAssertEqual(order, [2, 4, 3, 1, 0, 5])
        XCTAssertEqual(Set(s).count, 6, "no ties here")
        // Equal counts and equal popularity stay tied outside the session.
        let s2 = scores(m, after: [5])
        XCTAssertEqual(s2[1], s2[3])
        XCTAssertGreaterThan(s2[5], s2[1])
        XCTAssertEqual(s2[0], s2[4])
    }

    /// A count beats recency even when the more frequent item is older, and with nothing fed
    /// the ranking is popularity.
    func testCountBeatsRecencyAndEmptyIsPopularity() {
        let m = SessionRepeatModel(train: train, itemCount: 6)
        let s = scores(m, after: [0, 0, 5, 4])
        XCTAssertGreaterThan(s[0], s[4])
        XCTAssertGreaterThan(s[4], s[5])
        XCTAssertGreaterThan(s[5], s[1])
        let e = scores(m, after: [-1])
        XCTAssertEqual((0..<6).sorted { e[$0] > e[$1] }.prefix(2).sorted(), [1, 3])
    }
}
