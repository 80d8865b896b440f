import XCTest
@testable import IRNData
import IRNSupport

/// Preprocessing writes a data set from a careless command line but says what looks wrong
/// (`PrepareWarnings`), and refuses one with nothing to train on. Times are in seconds.
final class PrepareWarningsTests: XCTestCase {
    let day: Int64 = 86_400

    /// `n` sessions, one a day from day 0: clicks on items 1 and 2, then `buys` purchases
    /// of item 1 (no support filter: minItemEvents and minSessionLength 1).
    func rows(_ n: Int, buys: Int = 1) -> [(Int64, Int64, Int64, Bool)] {
        (0..<n).flatMap { s -> [(Int64, Int64, Int64, Bool)] in
            let t = Int64(s) * day
            return [(Int64(s), 1, t, false), (Int64(s), 2, t + 1, false)] + (0..<buys).map { (Int64(s), 1, t + 2 + Int64($0), true) }
        }
    }

    func prepare(_ rows: [(Int64, Int64, Int64, Bool)], days: Double = 0, testDays: Double = 10, validDays: Double = 30) throws -> Preprocessor.Log {
        let (sessions, ids) = rawSessions(rows)
        var log = Preprocessor.Log()
        _ = try Preprocessor.prepare(raw: sessions, rawItemIds: ids,
                                     options: PrepareOptions(days: days, testDays: testDays, validDays: validDays, minItemEvents: 1, minSessionLength: 1),
                                     log: &log)
        return log
    }

    func testSoundDataHasNoWarnings() throws {
        XCTAssertEqual(try prepare(rows(100)).warnings, [])
    }

    func testPurchaseShareAboveHalfSuggestsSwappedFiles() throws {
        let w = try prepare(rows(100, buys: 3)).warnings
        XCTAssertEqual(w.count, 1, "\(w)")
        XCTAssertTrue(w[0].hasPrefix("60.0% of the train events are purchases") && w[0].contains("swapped"), w[0])
    }

    func testDaysWindowKeepingUnderATenthIsNamed() throws {
        // 200 days of sessions, --days 9 keeps the 10 sessions starting on days 190...199.
        let w = try prepare(rows(200), days: 9.5, testDays: 1, validDays: 3).warnings
        XCTAssertTrue(w.contains { $0.hasPrefix("--days 9.5 keeps 10 of 200 sessions (5.0%); the data spans 199 days") }, "\(w)")
        XCTAssertFalse(try prepare(rows(200), days: 30, testDays: 1, validDays: 3).warnings.contains { $0.hasPrefix("--days") }, "15% kept: no warning")
    }

    func testTinyValidationSplitIsNamed() throws {
        let w = try prepare(rows(100), validDays: 1).warnings
        XCTAssertEqual(w.count, 1, "\(w)")
        XCTAssertTrue(w[0].hasPrefix("the validation split holds 1 sessions"), w[0])
    }

    func testNothingLeftToTrainOnIsAnError() throws {
        XCTAssertThrowsError(try prepare(rows(100), testDays: 500)) { e in
            XCTAssertTrue("\(e)".contains("--test-days 500 puts all 100 sessions in test (they span 99 days)"), "\(e)")
        }
        XCTAssertThrowsError(try prepare(rows(100), testDays: 10, validDays: 200)) { e in
            XCTAssertTrue("\(e)".contains("--valid-days 200 puts all"), "\(e)")
        }
    }
}
