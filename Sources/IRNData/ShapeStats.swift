import Foundation

/// The shape of a session data set, so synthetic and real data can be set side by side:
/// lengths, purchase behaviour, repeats and item popularity.
public struct ShapeStats: Codable, Sendable, Equatable {
    public var sessions = 0
    public var events = 0
    public var clicks = 0
    public var purchases = 0
    public var items = 0
    /// Clicks per session: mean and quantiles.
    public var clicksPerSessionMean = 0.0
    public var clicksPerSessionP10 = 0, clicksPerSessionP50 = 0, clicksPerSessionP90 = 0, clicksPerSessionP99 = 0
    public var clicksPerSessionMax = 0
    /// Share of sessions with exactly one click.
    public var singleClickShare = 0.0
    /// Share of sessions with at least one purchase.
    public var purchaseSessionShare = 0.0
    public var buyerClicksMean = 0.0
    public var nonBuyerClicksMean = 0.0
    /// Purchase events per buying session, and distinct items bought per buying session.
    public var purchasesPerBuyer = 0.0
    public var distinctBoughtPerBuyer = 0.0
    /// Share of purchase events whose item was clicked earlier in the same session.
    public var boughtClickedEarlierShare = 0.0
    /// Share of clicks on an item already clicked earlier in the same session.
    public var repeatClickShare = 0.0
    /// Share of clicks on the most clicked 1% and 10% of items.
    public var top1PercentClickShare = 0.0
    public var top10PercentClickShare = 0.0
    /// Least-squares slope of log(clicks) on log(rank) over the 1000 most clicked items
    /// (a Zipf exponent estimate; popularity tails are steeper).
    public var zipfSlopeTop1000 = 0.0
    /// The same slope over ranks 1…(items with at least 5 clicks).
    public var zipfSlopeSupported = 0.0
    /// Median seconds between consecutive clicks of a session.
    public var medianClickGapSeconds = 0.0
    /// Days between the first and last event.
    public var spanDays = 0.0

    public init() {}

    enum CodingKeys: String, CodingKey {
        case sessions, events, clicks, purchases, items
        case clicksPerSessionMean = "clicks_per_session_mean", clicksPerSessionP10 = "clicks_per_session_p10"
        case clicksPerSessionP50 = "clicks_per_session_p50", clicksPerSessionP90 = "clicks_per_session_p90"
        case clicksPerSessionP99 = "clicks_per_session_p99", clicksPerSessionMax = "clicks_per_session_max"
        case singleClickShare = "single_click_share", purchaseSessionShare = "purchase_session_share"
        case buyerClicksMean = "buyer_clicks_mean", nonBuyerClicksMean = "non_buyer_clicks_mean"
        case purchasesPerBuyer = "purchases_per_buyer", distinctBoughtPerBuyer = "distinct_bought_per_buyer"
        case boughtClickedEarlierShare = "bought_clicked_earlier_share", repeatClickShare = "repeat_click_share"
        case top1PercentClickShare = "top1pct_click_share", top10PercentClickShare = "top10pct_click_share"
        case zipfSlopeTop1000 = "zipf_slope_top1000", zipfSlopeSupported = "zipf_slope_supported"
        case medianClickGapSeconds = "median_click_gap_seconds", spanDays = "span_days"
    }

    /// Computes the statistics of `set` (items are dense indices of any item space).
    public init(_ set: SessionSet) {
        self.init()
        sessions = set.count
        events = set.eventCount
        guard sessions > 0 else { return }
        var maxItem: Int32 = 0
        for it in set.items where it > maxItem { maxItem = it }
        let itemSpace = Int(maxItem) + 1
        var clickCount = [Int32](repeating: 0, count: itemSpace)
        // Per-item "last session that clicked it" / "last session that bought it" marks make
        // the within-session repeat checks O(1) without clearing a set per session.
        var clickedIn = [Int32](repeating: -1, count: itemSpace)
        var boughtIn = [Int32](repeating: -1, count: itemSpace)
        var lengths = [Int](repeating: 0, count: sessions)
        var buyers = 0, buyerClicks = 0, nonBuyerClicks = 0
        var boughtEarlier = 0, repeats = 0, distinctBought = 0
        var gaps: [Int64] = []
        gaps.reserveCapacity(min(set.eventCount, 2_000_000))
        let gapStride = max(1, set.eventCount / 2_000_000)
        var gapCounter = 0
        var seen = [Bool](repeating: false, count: itemSpace)
        for s in 0..<sessions {
            let r = set.range(of: s)
            var c = 0, p = 0
            var lastClick: Int64 = -1
            let mark = Int32(truncatingIfNeeded: s)
            for e in r {
                let it = Int(set.items[e])
                if !seen[it] { seen[it] = true; items += 1 }
                if set.types[e] == EventType.purchase.rawValue {
                    p += 1
                    if clickedIn[it] == mark { boughtEarlier += 1 }
                    if boughtIn[it] != mark { boughtIn[it] = mark; distinctBought += 1 }
                } else {
                    c += 1
                    clickCount[it] += 1
                    if clickedIn[it] == mark { repeats += 1 } else { clickedIn[it] = mark }
                    if lastClick >= 0 {
                        gapCounter += 1
                        if gapCounter % gapStride == 0 { gaps.append(set.times[e] - lastClick) }
                    }
                    lastClick = set.times[e]
                }
            }
            lengths[s] = c
            clicks += c
            purchases += p
            if p > 0 { buyers += 1; buyerClicks += c } else { nonBuyerClicks += c }
        }
        clicksPerSessionMean = Double(clicks) / Double(sessions)
        lengths.sort()
        func q(_ f: Double) -> Int { lengths[min(sessions - 1, Int(f * Double(sessions)))] }
        clicksPerSessionP10 = q(0.1); clicksPerSessionP50 = q(0.5); clicksPerSessionP90 = q(0.9); clicksPerSessionP99 = q(0.99)
        clicksPerSessionMax = lengths.last ?? 0
        singleClickShare = Double(lengths.reduce(0) { $0 + ($1 == 1 ? 1 : 0) }) / Double(sessions)
        purchaseSessionShare = Double(buyers) / Double(sessions)
        buyerClicksMean = buyers > 0 ? Double(buyerClicks) / Double(buyers) : 0
        nonBuyerClicksMean = sessions > buyers ? Double(nonBuyerClicks) / Double(sessions - buyers) : 0
        purchasesPerBuyer = buyers > 0 ? Double(purchases) / Double(buyers) : 0
        distinctBoughtPerBuyer = buyers > 0 ? Double(distinctBought) / Double(buyers) : 0
        boughtClickedEarlierShare = purchases > 0 ? Double(boughtEarlier) / Double(purchases) : 0
        repeatClickShare = clicks > 0 ? Double(repeats) / Double(clicks) : 0
        let popular = clickCount.filter { $0 > 0 }.sorted(by: >)
        if !popular.isEmpty && clicks > 0 {
            let n1 = max(1, popular.count / 100), n10 = max(1, popular.count / 10)
            top1PercentClickShare = Double(popular[0..<n1].reduce(0) { $0 + Int($1) }) / Double(clicks)
            top10PercentClickShare = Double(popular[0..<n10].reduce(0) { $0 + Int($1) }) / Double(clicks)
            zipfSlopeTop1000 = ShapeStats.logLogSlope(popular.prefix(1000))
            zipfSlopeSupported = ShapeStats.logLogSlope(popular.prefix { $0 >= 5 })
        }
        if !gaps.isEmpty {
            gaps.sort()
            medianClickGapSeconds = Double(gaps[gaps.count / 2]) / 1000
        }
        if let lo = set.times.min(), let hi = set.times.max() { spanDays = Double(hi - lo) / 86_400_000 }
    }

    /// Slope of log(count) against log(rank), ranks from 1.
    static func logLogSlope(_ counts: some Collection<Int32>) -> Double {
        let n = counts.count
        guard n >= 2 else { return 0 }
        var sx = 0.0, sy = 0.0, sxx = 0.0, sxy = 0.0
        for (r, c) in counts.enumerated() {
            let x = log(Double(r + 1)), y = log(Double(c))
            sx += x; sy += y; sxx += x * x; sxy += x * y
        }
        let d = Double(n) * sxx - sx * sx
        return d == 0 ? 0 : (Double(n) * sxy - sx * sy) / d
    }

    /// Lines for a terminal.
    public var report: String {
        func f(_ x: Double, _ digits: Int = 3) -> String { String(format: "%.\(digits)f", x) }
        return """
        sessions                    \(sessions)
        events                      \(events)  (clicks \(clicks), purchases \(purchases))
        items                       \(items)
        span (days)                 \(f(spanDays, 1))
        clicks/session              mean \(f(clicksPerSessionMean, 2))  p10 \(clicksPerSessionP10)  p50 \(clicksPerSessionP50)  p90 \(clicksPerSessionP90)  p99 \(clicksPerSessionP99)  max \(clicksPerSessionMax)
        single-click sessions       \(f(singleClickShare))
        sessions with a purchase    \(f(purchaseSessionShare, 4))
        clicks: buyers/non-buyers   \(f(buyerClicksMean, 2)) / \(f(nonBuyerClicksMean, 2))
        purchases per buyer         \(f(purchasesPerBuyer, 2))  (distinct items \(f(distinctBoughtPerBuyer, 2)))
        bought item clicked earlier \(f(boughtClickedEarlierShare, 4))
        repeat clicks               \(f(repeatClickShare))
        clicks on top 1% / 10% items \(f(top1PercentClickShare)) / \(f(top10PercentClickShare))
        Zipf slope top 1000 / >=5   \(f(zipfSlopeTop1000)) / \(f(zipfSlopeSupported))
        median click gap (s)        \(f(medianClickGapSeconds, 1))
        """
    }
}
