import XCTest
@testable import IRNData

final class ShapeStatsTests: XCTestCase {
    func testHandComputedCase() {
        var s = SessionSet()
        // Session A: clicks 1, 2, 1 (one repeat), buys 1 (clicked earlier) and 3 (not clicked).
        s.append(id: 1, items: [1, 2, 1, 1, 3], types: [0, 0, 0, 1, 1], times: [0, 10_000, 40_000, 50_000, 50_000])
        // Session B: one click.
        s.append(id: 2, items: [2], types: [0], times: [100_000])
        // Session C: clicks 4, 4 (one repeat), 2.
        s.append(id: 3, items: [4, 4, 2], types: [0, 0, 0], times: [86_400_000, 86_420_000, 86_430_000])
        let st = ShapeStats(s)
        XCTAssertEqual(st.sessions, 3)
        XCTAssertEqual(st.events, 9)
        XCTAssertEqual(st.clicks, 7)
        XCTAssertEqual(st.purchases, 2)
        XCTAssertEqual(st.items, 4)
        XCTAssertEqual(st.clicksPerSessionMean, 7.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(st.clicksPerSessionP50, 3)
        XCTAssertEqual(st.clicksPerSessionMax, 3)
        XCTAssertEqual(st.singleClickShare, 1.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(st.purchaseSessionShare, 1.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(st.buyerClicksMean, 3)
        XCTAssertEqual(st.nonBuyerClicksMean, 2)
        XCTAssertEqual(st.purchasesPerBuyer, 2)
        XCTAssertEqual(st.distinctBoughtPerBuyer, 2)
        XCTAssertEqual(st.boughtClickedEarlierShare, 0.5)
        XCTAssertEqual(st.repeatClickShare, 2.0 / 7, accuracy: 1e-12)
        // Clicks per item: 1 -> 2, 2 -> 3, 4 -> 2; top 1% / 10% of 3 items = the top one (2: 3 clicks).
        XCTAssertEqual(st.top1PercentClickShare, 3.0 / 7, accuracy: 1e-12)
        // Gaps between clicks: 10 s, 30 s, 20 s, 10 s; the median (upper) is 20 s.
        XCTAssertEqual(st.medianClickGapSeconds, 20)
        XCTAssertEqual(st.spanDays, 86_430_000.0 / 86_400_000, accuracy: 1e-9)
    }

    func testZipfSlopeOfAnExactPowerLaw() {
        let counts = (1...200).map { Int32((100_000.0 * pow(Double($0), -0.8)).rounded()) }
        XCTAssertEqual(ShapeStats.logLogSlope(counts), -0.8, accuracy: 0.001)
    }
}
