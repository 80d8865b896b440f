import XCTest
@testable import IRNData

final class FieldParsingTests: XCTestCase {
    private func parse(_ s: String, _ f: (UnsafeBufferPointer<UInt8>, Int, Int) -> Int64?) -> Int64? {
        let bytes = Array(s.utf8)
        return bytes.withUnsafeBufferPointer { f($0, 0, $0.count) }
    }

    func testISO8601AgainstKnownEpochValues() {
        // Reference values from Python's datetime (UTC).
        XCTAssertEqual(parse("2014-04-07T10:51:09.277Z", FieldParsing.parseISO8601), 1_396_867_869_277)
        XCTAssertEqual(parse("2000-02-29T23:59:59Z", FieldParsing.parseISO8601), 951_868_799_000)
        XCTAssertEqual(parse("1970-01-01T00:00:00.000Z", FieldParsing.parseISO8601), 0)
        XCTAssertEqual(parse("2016-12-31 12:00:00", FieldParsing.parseISO8601), 1_483_185_600_000)
        // Fractions: one digit is tenths, extra digits are truncated.
        XCTAssertEqual(parse("1970-01-01T00:00:01.5Z", FieldParsing.parseISO8601), 1_500)
        XCTAssertEqual(parse("1970-01-01T00:00:01.123456Z", FieldParsing.parseISO8601), 1_123)
        // An offset is applied: 12:00+02:00 is 10:00Z.
        XCTAssertEqual(parse("2014-04-07T12:51:09.277+02:00", FieldParsing.parseISO8601), 1_396_867_869_277)
    }

    func testISO8601RejectsMalformedDates() {
        for bad in ["2014-13-07T10:51:09Z", "2014-02-30T10:51:09Z", "2014-04-07T25:00:00Z", "2014-04-07",
                    "2014/04/07T10:51:09Z", "2014-04-07T10:51:09.Z", "2014-04-07T10:51:09Zjunk", "x014-04-07T10:51:09Z", ""] {
            XCTAssertNil(parse(bad, FieldParsing.parseISO8601), bad)
        }
        XCTAssertNil(parse("2015-02-29T00:00:00Z", FieldParsing.parseISO8601), "2015 is not a leap year")
    }

    func testDaysFromCivilRoundTrips() {
        for days in stride(from: -800_000, through: 800_000, by: 997) {
            let (y, m, d) = ByteWriter.civil(fromDays: days)
            XCTAssertEqual(FieldParsing.daysFromCivil(y, m, d), days)
        }
    }

    func testSecondsAndTimeDispatch() {
        XCTAssertEqual(parse("1396867869", FieldParsing.parseSeconds), 1_396_867_869_000)
        XCTAssertEqual(parse("1396867869.277", FieldParsing.parseSeconds), 1_396_867_869_277)
        XCTAssertEqual(parse("1396867869.2", FieldParsing.parseSeconds), 1_396_867_869_200)
        XCTAssertNil(parse("13968x7869", FieldParsing.parseSeconds))
        XCTAssertNil(parse("", FieldParsing.parseSeconds))
        XCTAssertEqual(parse("2014-04-07T10:51:09.277Z", FieldParsing.parseTime), 1_396_867_869_277)
        XCTAssertEqual(parse("12.5", FieldParsing.parseTime), 12_500)
    }

    func testIntegers() {
        XCTAssertEqual(parse("214837485", FieldParsing.parseInt64), 214_837_485)
        XCTAssertEqual(parse(" -42 ", FieldParsing.parseInt64), -42)
        XCTAssertNil(parse("12a", FieldParsing.parseInt64))
        XCTAssertNil(parse("", FieldParsing.parseInt64))
        XCTAssertNil(parse("1234567890123456789012", FieldParsing.parseInt64))
    }

    func testWriterFormatsWhatTheParserReads() throws {
        let files = TestFiles()
        let w = try ByteWriter(path: files.path("t.txt"), gzip: false)
        let stamps: [Int64] = [0, 1_396_867_869_277, 951_868_799_999, 4_102_444_800_001]
        for t in stamps { try w.reserve(64); w.iso8601(t); w.byte(0x0A) }
        try w.close()
        let lines = try String(contentsOfFile: files.path("t.txt"), encoding: .utf8).split(separator: "\n").map(String.init)
        XCTAssertEqual(lines[1], "2014-04-07T10:51:09.277Z")
        XCTAssertEqual(lines.map { parse($0, FieldParsing.parseISO8601) }, stamps)
    }
}
