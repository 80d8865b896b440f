import Foundation
import XCTest
@testable import IRNData
import IRNSupport

/// The developers' split of the real 1% YooChoose sample: exact counts per split.
final class RealSampleTests: XCTestCase {
    private func sampleSources() throws -> RawSources {
        let dir = sharedDataDirectory().appendingPathComponent("yoochoose-1pct")
        let clicks = dir.appendingPathComponent("yoochoose-clicks.dat.gz").path
        let buys = dir.appendingPathComponent("yoochoose-buys.dat.gz").path
        guard FileManager.default.isReadableFile(atPath: clicks), FileManager.default.isReadableFile(atPath: buys) else {
            throw XCTSkip("real sample not found at \(dir.path) (set IRN_SHARED_DATA to the shared data directory)")
        }
        return RawSources(clicks: clicks, buys: buys)
    }

    func testCountsOfTheDevelopersSplitAreExact() throws {
        let f = TestFiles()
        let options = PrepareOptions(days: 0, testDays: 14, validDays: 7)
        let (d, _) = try PreparePipeline.run(sources: try sampleSources(), options: options, out: f.url("prep"))
        typealias C = PreparedDataset.SplitCounts
        XCTAssertEqual(C(d.train), C(sessions: 3548, events: 26094, purchases: 7265, items: 1855))
        XCTAssertEqual(C(d.test), C(sessions: 353, events: 2373, purchases: 642, items: 533))
        XCTAssertEqual(C(d.trainTr).sessions, 3339)
        XCTAssertEqual(C(d.trainTr).events, 24294)
        XCTAssertEqual(C(d.trainTr).purchases, 6768)
        XCTAssertEqual(C(d.valid).sessions, 189)
        XCTAssertEqual(C(d.valid).events, 1440)
        XCTAssertEqual(C(d.valid).purchases, 375)
        XCTAssertEqual(d.itemCount, 1855)
        // The saved form reads back identically.
        let back = try PreparedDataset.load(from: f.url("prep"))
        XCTAssertEqual(back.train, d.train)
        XCTAssertEqual(back.valid, d.valid)
    }

    func testRawShapeOfTheSample() throws {
        let (sessions, items) = try sampleSources().loadSessions()
        let s = ShapeStats(sessions)
        // The README's figures.
        XCTAssertEqual(s.sessions, 77_171)
        XCTAssertEqual(s.clicks, 276_390)
        XCTAssertEqual(s.purchases, 9_610)
        XCTAssertEqual(items.count, s.items)
        XCTAssertGreaterThan(s.boughtClickedEarlierShare, 0.99)
    }
}
