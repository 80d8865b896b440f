import Foundation
import XCTest
@testable import IRNData
import IRNSupport

final class SyntheticShopTests: XCTestCase {
    /// Shape of 30,000 generated sessions, read back through the YooChoose loader. Bands are
    /// set around the real sample's figures (README: mean 3.58 clicks, 5.6% buying sessions,
    /// buyers 6.3 vs 3.4 clicks, >99% of bought items clicked earlier, ~20% repeat clicks).
    func testGeneratedShopHasTheRealShape() throws {
        let f = TestFiles()
        // Clicks per catalogue item as in the real sample (about 5).
        let shop = try SyntheticShop(SyntheticShop.Config(sessions: 30_000, items: 20_000, seed: 3))
        let (clicks, buys) = try shop.write(to: f.url("shop"), gzip: false)
        let (sessions, _) = try RawSources.discover(in: f.path("shop")).loadSessions()
        let s = ShapeStats(sessions)
        XCTAssertEqual(s.sessions, 30_000)
        XCTAssertEqual(s.clicks, clicks)
        XCTAssertEqual(s.purchases, buys)
        XCTAssertEqual(s.clicksPerSessionMean, 3.55, accuracy: 0.35)
        XCTAssertGreaterThanOrEqual(s.clicksPerSessionP99, 12, "long tail")
        XCTAssertEqual(s.clicksPerSessionP50, 2)
        XCTAssertEqual(s.purchaseSessionShare, 0.056, accuracy: 0.008)
        XCTAssertGreaterThan(s.buyerClicksMean, 1.5 * s.nonBuyerClicksMean, "buyers' sessions are longer")
        XCTAssertGreaterThan(s.boughtClickedEarlierShare, 0.99)
        XCTAssertEqual(s.repeatClickShare, 0.2, accuracy: 0.06)
        XCTAssertEqual(s.distinctBoughtPerBuyer, 2.0, accuracy: 0.4)
        XCTAssertEqual(s.top10PercentClickShare, 0.65, accuracy: 0.15)
        XCTAssertLessThan(s.zipfSlopeTop1000, -0.3)
        XCTAssertGreaterThan(s.zipfSlopeTop1000, -1.0)
        XCTAssertEqual(s.medianClickGapSeconds, 60, accuracy: 10)
        XCTAssertEqual(s.spanDays, 183, accuracy: 1)
    }

    /// Sessions mostly stay in a latent category and follow item-to-item successors: the
    /// structure a sequence model can use and popularity cannot.
    func testSequentialStructure() throws {
        let shop = try SyntheticShop(SyntheticShop.Config(sessions: 20_000, items: 6_000, seed: 9))
        var rng = RandomSource(seed: 9)
        let catalog = SyntheticShop.Catalog(config: shop.config, rng: &rng)
        var pairs = 0, sameCategory = 0, successor = 0
        var categoryClicks = [Int](repeating: 0, count: 64)
        var totalClicks = 0
        shop.generate { s in
            for k in 0..<s.clickItems.count {
                categoryClicks[Int(s.clickCategories[k]) % 64] += 1
                totalClicks += 1
                guard k > 0, s.clickItems[k] != s.clickItems[k - 1] else { continue }
                pairs += 1
                if s.clickCategories[k] == s.clickCategories[k - 1] { sameCategory += 1 }
                let prev = Int(s.clickItems[k - 1]) * SyntheticShop.Catalog.successorCount
                if catalog.successors[prev ..< prev + SyntheticShop.Catalog.successorCount].contains(s.clickItems[k]) { successor += 1 }
            }
        }
        // Chance of two independent clicks sharing a category (upper bound via 64 buckets).
        let chance = categoryClicks.reduce(0.0) { $0 + pow(Double($1) / Double(totalClicks), 2) }
        let same = Double(sameCategory) / Double(pairs)
        XCTAssertGreaterThan(same, 0.7)
        XCTAssertLessThan(chance, 0.1)
        XCTAssertGreaterThan(Double(successor) / Double(pairs), 0.25)
    }

    func testDeterministicBySeed() throws {
        let f = TestFiles()
        func files(_ seed: UInt64, _ name: String, gzip: Bool = false) throws -> Data {
            _ = try SyntheticShop(SyntheticShop.Config(sessions: 3_000, items: 500, seed: seed)).write(to: f.url(name), gzip: gzip)
            let suffix = gzip ? ".gz" : ""
            return try Data(contentsOf: f.url("\(name)/yoochoose-clicks.dat\(suffix)")) + Data(contentsOf: f.url("\(name)/yoochoose-buys.dat\(suffix)"))
        }
        let a = try files(4, "a"), b = try files(4, "b"), c = try files(5, "c")
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, c)
        _ = try files(4, "g", gzip: true)
        let plain = try RawSources.discover(in: f.path("a")).loadSessions()
        let gz = try RawSources.discover(in: f.path("g")).loadSessions()
        XCTAssertEqual(plain.sessions, gz.sessions)
        XCTAssertFalse(f.listing().contains { $0.hasPrefix(".") }, "no staging directories left")
    }

    func testRejectsNonsenseSizes() {
        XCTAssertThrowsError(try SyntheticShop(SyntheticShop.Config(sessions: 0, items: 100, seed: 1)))
        XCTAssertThrowsError(try SyntheticShop(SyntheticShop.Config(sessions: 10, items: 3, seed: 1)))
    }
}
