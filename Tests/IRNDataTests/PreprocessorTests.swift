import XCTest
@testable import IRNData
import IRNSupport

/// One hand-built case per preprocessing rule (docs/algorithm.md#data-and-preprocessing). Times are in seconds.
final class PreprocessorTests: XCTestCase {
    let day: Int64 = 86_400

    private func prepare(_ rows: [(Int64, Int64, Int64, Bool)], _ options: PrepareOptions) throws -> PreparedDataset {
        let (sessions, ids) = rawSessions(rows)
        var log = Preprocessor.Log()
        return try Preprocessor.prepare(raw: sessions, rawItemIds: ids, options: options, log: &log)
    }

    /// No support filtering, no time splits: isolates the rule under test.
    private func loose(days: Double = 0, allSessions: Bool = false) -> PrepareOptions {
        PrepareOptions(days: days, testDays: 0, validDays: 0, allSessions: allSessions, minItemEvents: 1, minSessionLength: 1)
    }

    /// Sessions of a split with original item ids ("$" marks a purchase).
    private func show(_ d: PreparedDataset, _ set: SessionSet) -> [String] { describe(set, d.itemIds) }

    func testPurchaseSessionsAreKeptUnlessAllSessions() throws {
        let rows: [(Int64, Int64, Int64, Bool)] = [
            (0, 10, 0, true), (1, 10, 1, false), (1, 11, 2, false), (2, 10, 3, false), (2, 10, 4, true),
        ]
        // testDays 0 puts only sessions ending exactly at the last event in test.
        let d = try prepare(rows, loose())
        XCTAssertEqual(show(d, d.train), ["0:10$"])
        XCTAssertEqual(show(d, d.test), ["2:10,10$"])
        let all = try prepare(rows, loose(allSessions: true))
        XCTAssertEqual(show(all, all.train), ["0:10$", "1:10,11"])
        XCTAssertEqual(show(all, all.test), ["2:10,10$"])
    }

    func testDaysKeepsSessionsStartingWithinNDaysOfTheLastEvent() throws {
        // Last event at day 10. --days 2 keeps sessions whose FIRST event is >= day 8:
        // session 2 starts at day 8 exactly (kept); session 1 starts before and ends after (dropped).
        let rows: [(Int64, Int64, Int64, Bool)] = [
            (1, 10, 7 * day, false), (1, 10, 9 * day, true),
            (2, 10, 8 * day, false), (2, 10, 8 * day + 5, true),
            (3, 10, 10 * day, false), (3, 10, 10 * day, true),
        ]
        var o = loose(days: 2)
        o.testDays = 0
        let d = try prepare(rows, o)
        XCTAssertEqual(Set(d.train.ids + d.test.ids), [2, 3])
        let all = try prepare(rows, loose(days: 0))
        XCTAssertEqual(Set(all.train.ids + all.test.ids), [1, 2, 3])
    }

    func testFixedPointCascade() throws {
        // Item 7 has exactly 5 events, one of them in session 1 next to a rare item 8 (1 event).
        // Round 1: drop 8 -> session 1 = [7] -> dropped (< 2). Round 2: item 7 has 4 -> dropped,
        // which empties session 2 = [7, 7, 9, 9] to [9, 9]... keep it: session 2 survives.
        let rows: [(Int64, Int64, Int64, Bool)] = [
            (1, 7, 0, true), (1, 8, 1, false),
            (2, 7, 2, false), (2, 7, 3, true), (2, 9, 4, false), (2, 9, 5, true),
            (3, 7, 6, false), (3, 7, 7, true), (3, 9, 8, false), (3, 9, 9, true), (3, 9, 10, false),
        ]
        var o = PrepareOptions(days: 0, testDays: 0, validDays: 0)
        o.minItemEvents = 5
        let (sessions, ids) = rawSessions(rows)
        var log = Preprocessor.Log()
        let d = try Preprocessor.prepare(raw: sessions, rawItemIds: ids, options: o, log: &log)
        XCTAssertEqual(show(d, d.train) + show(d, d.test), ["2:9,9$", "3:9,9$,9"])
        XCTAssertEqual(log.filterRounds, 3)  // two filtering rounds, then a check that finds it stable
    }

    func testTestSplitBoundaryItemFilterAndShortSessions() throws {
        // Last event at day 10; --test-days 2: cut = day 8; last event AT the cut is test.
        let rows: [(Int64, Int64, Int64, Bool)] = [
            (1, 10, 1 * day, false), (1, 11, 1 * day + 1, true),
            (2, 10, 7 * day, false), (2, 12, 8 * day - 1, true),               // ends 1 s before the cut: train
            (3, 10, 7 * day, false), (3, 13, 8 * day, true),                   // ends at the cut: test
            (4, 10, 9 * day, false), (4, 99, 9 * day + 1, false), (4, 11, 10 * day, true), // 99 unseen in train
            (5, 98, 9 * day, false), (5, 10, 9 * day + 1, true),               // 98 unseen -> 1 event -> dropped
        ]
        var o = loose()
        o.testDays = 2
        o.minSessionLength = 2
        let d = try prepare(rows, o)
        XCTAssertEqual(show(d, d.train), ["1:10,11$", "2:10,12$"])
        // Session 3's item 13 is not in train, so it shrinks to 1 event and goes; 4 loses 99.
        XCTAssertEqual(show(d, d.test), ["4:10,11$"])
        XCTAssertEqual(d.itemIds, [10, 11, 12])
    }

    func testValidationIsCutBackFromTheTestCutAgainstTrainTrItems() throws {
        // Last event day 20, --test-days 5: test cut = day 15. --valid-days 3: valid cut = day 12,
        // counted from the test cut, not from train's own last event (day 13 here).
        let rows: [(Int64, Int64, Int64, Bool)] = [
            (1, 10, 1 * day, false), (1, 11, 1 * day + 1, true),
            (2, 10, 11 * day, false), (2, 12, 11 * day + 1, true),  // ends day 11: train_tr
            (3, 10, 12 * day, false), (3, 11, 12 * day, true),      // ends day 12 = valid cut: valid
            (4, 12, 13 * day, false), (4, 10, 13 * day, true),      // valid
            (5, 13, 12 * day, false), (5, 10, 13 * day, true),      // valid, but 13 only in valid -> dropped
            (6, 10, 20 * day, false), (6, 11, 20 * day, true),      // test
        ]
        var o = loose()
        o.testDays = 5
        o.validDays = 3
        o.minSessionLength = 2
        let d = try prepare(rows, o)
        XCTAssertEqual(show(d, d.train), ["1:10,11$", "2:10,12$", "3:10,11$", "5:13,10$", "4:12,10$"])
        XCTAssertEqual(show(d, d.trainTr), ["1:10,11$", "2:10,12$"])
        XCTAssertEqual(show(d, d.valid), ["3:10,11$", "4:12,10$"])
        XCTAssertEqual(show(d, d.test), ["6:10,11$"])
        // The cuts themselves (from train's own last event, day 13, valid would start at day 10
        // and take session 2 too):
        let (sessions, ids) = rawSessions(rows)
        var log = Preprocessor.Log()
        _ = try Preprocessor.prepare(raw: sessions, rawItemIds: ids, options: o, log: &log)
        XCTAssertEqual(log.testCut, 15 * day * 1000)
        XCTAssertEqual(log.validCut, 12 * day * 1000)
    }

    func testSessionsAreOrderedByStartAndItemsDenseByIdInEverySplit() throws {
        let rows: [(Int64, Int64, Int64, Bool)] = [
            (30, 500, 5, false), (30, 400, 6, true),
            (10, 400, 1, false), (10, 300, 2, true),
            (20, 300, 1, false), (20, 500, 3, true),
        ]
        let d = try prepare(rows, PrepareOptions(days: 0, testDays: 0, validDays: 0, minItemEvents: 1))
        XCTAssertEqual(d.itemIds, [300, 400, 500])
        XCTAssertEqual(d.train.ids, [10, 20])  // same start: ordered by id
        XCTAssertEqual(d.train.items, [1, 0, 0, 2])
        XCTAssertEqual(d.test.ids, [30])
    }

    func testNothingLeftIsAnError() {
        let rows: [(Int64, Int64, Int64, Bool)] = [(1, 10, 0, false), (1, 11, 1, false)]
        XCTAssertThrowsError(try prepare(rows, PrepareOptions(days: 0))) { e in
            XCTAssertTrue("\(e)".contains("no sessions left"), "\(e)")
        }
    }
}
