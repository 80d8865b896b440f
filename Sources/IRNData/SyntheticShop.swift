import Foundation
import IRNSupport

/// A synthetic web shop whose logs look like the YooChoose data (see
/// the YooChoose sample's `irn data stats`): Zipf-like item popularity, items grouped
/// in latent categories that sessions stay in (sequential structure a model can learn),
/// neighbour-item transitions inside a category, repeated clicks, a small share of buying
/// sessions that are longer, and purchases of items clicked earlier in the session.
/// Everything is drawn from one `RandomSource(seed:)`, so a seed fixes the files byte for byte.
public struct SyntheticShop: Sendable {
    public struct Config: Sendable, Codable, Equatable {
        public var sessions: Int
        public var items: Int
        public var seed: UInt64
        /// Latent categories (0 = items / 300, at least 4).
        public var categories: Int = 0
        /// Item popularity weight of rank r (from 1): (r + q)^(-zipfExponent) with
        /// q = zipfOffsetFraction * items (a flat head, as in the real data), times
        /// (R / r)^tailExponent beyond R = tailStartFraction * items (a cold tail: most of a
        /// real catalogue is rarely clicked). Fitted to the 1% YooChoose sample's shape.
        public var zipfExponent: Double = 1.45
        public var zipfOffsetFraction: Double = 0.006
        public var tailStartFraction: Double = 0.3
        public var tailExponent: Double = 2.5
        /// Share of sessions that buy.
        public var buyerShare: Double = 0.056
        /// Non-buyers: share of one-click sessions; the others have 2 + extra clicks.
        public var singleClickShare: Double = 0.13
        /// Extra clicks: a mixture of two geometric laws (short and long sessions).
        public var shortTailMean: Double = 0.85
        public var longTailMean: Double = 5.0
        public var longTailShare: Double = 0.22
        /// Buyers: a few single-click sessions, else 2 + extra clicks with these means
        /// (buyers' sessions are longer).
        public var buyerSingleClickShare: Double = 0.06
        public var buyerShortMean: Double = 1.6
        public var buyerLongMean: Double = 9.0
        public var buyerLongShare: Double = 0.4
        /// Per click after the first: probability of re-clicking an item of the session.
        public var repeatProbability: Double = 0.2
        /// Per new item: probability of leaving the current category.
        public var switchProbability: Double = 0.2
        /// Per new item in the same category: probability of one of the last item's few
        /// fixed successors (drawn by popularity when the catalogue is built) rather than a
        /// fresh popularity draw: item-to-item structure that keeps the popularity law.
        public var neighbourProbability: Double = 0.5
        /// Distinct items bought per buyer: 1 + geometric extra with this mean.
        public var extraBoughtMean: Double = 1.8
        /// Probability that a bought item was not clicked in the session.
        public var unclickedPurchaseProbability: Double = 0.0005
        /// Probability that a bought item gets a second buy row (another quantity line).
        public var duplicateBuyProbability: Double = 0.09
        /// Median seconds between clicks, log-normal spread.
        public var clickGapMedianSeconds: Double = 60
        public var clickGapSigma: Double = 1.3
        /// Median seconds from the last click to the first buy row.
        public var buyDelayMedianSeconds: Double = 300
        /// Sessions start uniformly over this many days from 2014-04-01 (the challenge's span).
        public var spanDays: Double = 183

        public init(sessions: Int, items: Int, seed: UInt64) {
            self.sessions = sessions
            self.items = items
            self.seed = seed
        }
    }

    public let config: Config

    public init(_ config: Config) throws {
        guard config.sessions >= 1 else { throw IRNError("--sessions must be at least 1") }
        guard config.items >= 10 else { throw IRNError("--items must be at least 10") }
        guard config.items < Int(Int32.max) else { throw IRNError("--items is too large") }
        self.config = config
    }

    /// First session start: 2014-04-01T00:00:00Z.
    static let epochStartMillis: Int64 = Int64(FieldParsing.daysFromCivil(2014, 4, 1)) * 86_400_000
    /// Original ids: items look like YooChoose ids, sessions count from 1.
    static let itemIdBase: Int64 = 214_500_000

    /// Writes `yoochoose-clicks.dat` and `yoochoose-buys.dat` (with `.gz` when `gzip`) and
    /// `synth.json` into `dir`, atomically (staging directory, then one rename).
    public func write(to dir: URL, gzip: Bool, progress: Bool = false) throws -> (clicks: Int, buys: Int) {
        let fm = FileManager.default
        let parent = dir.deletingLastPathComponent()
        try? fm.createDirectory(at: parent, withIntermediateDirectories: true)
        let staging = parent.appendingPathComponent(".\(dir.lastPathComponent).staging-\(getpid())")
        try? fm.removeItem(at: staging)
        do {
            try fm.createDirectory(at: staging, withIntermediateDirectories: false)
        } catch {
            throw IRNError("cannot create output directory: \(error.localizedDescription)", file: staging.path)
        }
        do {
            let suffix = gzip ? ".gz" : ""
            let clicks = try ByteWriter(path: staging.appendingPathComponent("yoochoose-clicks.dat" + suffix).path, gzip: gzip)
            let buys = try ByteWriter(path: staging.appendingPathComponent("yoochoose-buys.dat" + suffix).path, gzip: gzip)
            var nClicks = 0, nBuys = 0
            var reporter = ProgressReporter("synth")
            var failure: Error?
            generate { s in
                if failure != nil { return }
                do {
                    for k in 0..<s.clickItems.count {
                        try clicks.reserve(96)
                        clicks.int(s.sessionId); clicks.byte(0x2C)
                        clicks.iso8601(s.clickTimes[k]); clicks.byte(0x2C)
                        clicks.int(SyntheticShop.itemIdBase + Int64(s.clickItems[k])); clicks.byte(0x2C)
                        clicks.byte(0x30); clicks.byte(0x0A)
                    }
                    for k in 0..<s.buyItems.count {
                        try buys.reserve(96)
                        buys.int(s.sessionId); buys.byte(0x2C)
                        buys.iso8601(s.buyTimes[k]); buys.byte(0x2C)
                        buys.int(SyntheticShop.itemIdBase + Int64(s.buyItems[k])); buys.byte(0x2C)
                        buys.int(Int64(s.buyPrices[k])); buys.byte(0x2C)
                        buys.int(Int64(s.buyQuantities[k])); buys.byte(0x0A)
                    }
                    nClicks += s.clickItems.count
                    nBuys += s.buyItems.count
                    if progress { reporter.tick("\(s.sessionId) / \(config.sessions) sessions, \(nClicks) clicks, \(nBuys) buys") }
                } catch {
                    failure = error
                }
            }
            if let f = failure { throw f }
            try clicks.close()
            try buys.close()
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(config).write(to: staging.appendingPathComponent("synth.json"))
            try AtomicFile.commitDirectory(staging: staging, final: dir)
            if progress { reporter.finish("\(config.sessions) sessions, \(nClicks) clicks, \(nBuys) buys") }
            return (nClicks, nBuys)
        } catch {
            try? fm.removeItem(at: staging)
            throw error
        }
    }

    /// One generated session (buffers are reused between calls: copy what you keep).
    public struct Session {
        public var sessionId: Int64 = 0
        public var clickItems: [Int32] = []
        public var clickTimes: [Int64] = []
        public var buyItems: [Int32] = []
        public var buyTimes: [Int64] = []
        public var buyPrices: [Int32] = []
        public var buyQuantities: [Int32] = []
        /// Latent category of each click (for tests of the sequential structure).
        public var clickCategories: [Int32] = []
    }

    /// Generates every session in order of start time and hands it to `body`.
    public func generate(_ body: (Session) -> Void) {
        let c = config
        var rng = RandomSource(seed: c.seed)
        let catalog = Catalog(config: c, rng: &rng)
        var s = Session()
        var clickedCount: [Int32] = []  // clicks per distinct item in the session
        var distinct: [Int32] = []
        let spanMillis = c.spanDays * 86_400_000
        let gapMu = log(c.clickGapMedianSeconds * 1000)
        let buyMu = log(c.buyDelayMedianSeconds * 1000)

        @inline(__always) func geometric(mean: Double, _ rng: inout RandomSource) -> Int {
            // Failures before the first success with p = 1 / (1 + mean).
            let u = max(rng.nextDouble(), 1e-300)
            return Int(log(u) / log(mean / (1 + mean)))
        }
        @inline(__always) func gaussian(_ rng: inout RandomSource) -> Double {
            let u1 = max(rng.nextDouble(), 1e-300), u2 = rng.nextDouble()
            return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
        }

        for i in 0..<c.sessions {
            s.sessionId = Int64(i + 1)
            s.clickItems.removeAll(keepingCapacity: true)
            s.clickTimes.removeAll(keepingCapacity: true)
            s.clickCategories.removeAll(keepingCapacity: true)
            s.buyItems.removeAll(keepingCapacity: true)
            s.buyTimes.removeAll(keepingCapacity: true)
            s.buyPrices.removeAll(keepingCapacity: true)
            s.buyQuantities.removeAll(keepingCapacity: true)
            distinct.removeAll(keepingCapacity: true)
            clickedCount.removeAll(keepingCapacity: true)

            let buyer = rng.nextDouble() < c.buyerShare
            var length: Int
            if buyer {
                let long = rng.nextDouble() < c.buyerLongShare
                length = rng.nextDouble() < c.buyerSingleClickShare ? 1 : 2 + geometric(mean: long ? c.buyerLongMean : c.buyerShortMean, &rng)
            } else if rng.nextDouble() < c.singleClickShare {
                length = 1
            } else {
                let long = rng.nextDouble() < c.longTailShare
                length = 2 + geometric(mean: long ? c.longTailMean : c.shortTailMean, &rng)
            }
            length = min(length, 200)

            var t = SyntheticShop.epochStartMillis + Int64((Double(i) + rng.nextDouble()) / Double(c.sessions) * spanMillis)
            var category = catalog.drawCategory(&rng)
            var last: Int32 = catalog.drawItem(in: category, &rng)
            for k in 0..<length {
                var item: Int32
                if k == 0 {
                    item = last
                } else if rng.nextDouble() < c.repeatProbability {
                    // Re-click: mostly the previous item or one shortly before it.
                    let back = min(distinct.count - 1, geometric(mean: 0.6, &rng))
                    item = distinct[distinct.count - 1 - back]
                } else {
                    if rng.nextDouble() < c.switchProbability {
                        category = catalog.drawCategory(&rng)
                        item = catalog.drawItem(in: category, &rng)
                    } else if rng.nextDouble() < c.neighbourProbability && catalog.category[Int(last)] == category {
                        item = catalog.neighbour(of: last, &rng)
                    } else {
                        item = catalog.drawItem(in: category, &rng)
                    }
                }
                if k > 0 {
                    t += Int64(exp(gapMu + c.clickGapSigma * gaussian(&rng)).rounded()) + 1
                }
                s.clickItems.append(item)
                s.clickTimes.append(t)
                s.clickCategories.append(catalog.category[Int(item)])
                if let j = distinct.firstIndex(of: item) {
                    clickedCount[j] += 1
                    // Keep `distinct` in order of last click, so re-clicks favour recent items.
                    distinct.remove(at: j); distinct.append(item)
                    let n = clickedCount.remove(at: j); clickedCount.append(n)
                } else {
                    distinct.append(item); clickedCount.append(1)
                }
                last = item
            }
            if buyer {
                var wanted = min(distinct.count, 1 + geometric(mean: c.extraBoughtMean, &rng))
                var bt = t + Int64(exp(buyMu + 1.0 * gaussian(&rng)).rounded())
                while wanted > 0 {
                    wanted -= 1
                    var item: Int32
                    if rng.nextDouble() < c.unclickedPurchaseProbability {
                        item = catalog.drawItem(in: category, &rng)
                    } else {
                        // Bought items are clicked ones, more likely the ones clicked more.
                        var total: Int32 = 0
                        for n in clickedCount { total += n * n }
                        var r = Int32(rng.nextInt(below: Int(total)))
                        var j = 0
                        while r >= clickedCount[j] * clickedCount[j] { r -= clickedCount[j] * clickedCount[j]; j += 1 }
                        item = distinct[j]
                        distinct.remove(at: j); clickedCount.remove(at: j)
                    }
                    let price = Int32(100 * (1 + rng.nextInt(below: 100)))
                    let rows = rng.nextDouble() < c.duplicateBuyProbability ? 2 : 1
                    for _ in 0..<rows {
                        s.buyItems.append(item)
                        s.buyTimes.append(bt)
                        s.buyPrices.append(price)
                        s.buyQuantities.append(Int32(1 + geometric(mean: 0.2, &rng)))
                    }
                    bt += Int64(rng.nextInt(below: 5000))
                    if distinct.isEmpty { break }
                }
            }
            body(s)
        }
    }

    /// Items, their categories and popularity, with samplers.
    struct Catalog {
        let category: [Int32]
        /// Items grouped by category, with offsets.
        let members: [Int32]
        let memberOffsets: [Int]
        /// `successorCount` likely next items of each item, most likely first.
        let successors: [Int32]
        static let successorCount = 4
        /// Cumulative item weights in `members` order, per category from 0.
        let cumulative: [Double]
        let categoryCumulative: [Double]

        init(config c: Config, rng: inout RandomSource) {
            let nItems = c.items
            let nCats = c.categories > 0 ? c.categories : max(4, nItems / 300)
            // Popularity rank of each item: a random permutation, so ids say nothing.
            var rank = Array(0..<nItems)
            for i in stride(from: nItems - 1, to: 0, by: -1) { rank.swapAt(i, rng.nextInt(below: i + 1)) }
            var weight = [Double](repeating: 0, count: nItems)
            let q = c.zipfOffsetFraction * Double(nItems), tailStart = max(1, c.tailStartFraction * Double(nItems))
            for it in 0..<nItems {
                let r = Double(rank[it] + 1)
                weight[it] = pow(r + q, -c.zipfExponent) * (r > tailStart ? pow(tailStart / r, c.tailExponent) : 1)
            }
            // Category sizes vary: draw each item's category from a mildly skewed law.
            var catCum = [Double](repeating: 0, count: nCats)
            var acc = 0.0
            for k in 0..<nCats { acc += 1 / (Double(k) + 10).squareRoot(); catCum[k] = acc }
            var cat = [Int32](repeating: 0, count: nItems)
            for it in 0..<nItems {
                let u = rng.nextDouble() * acc
                var lo = 0, hi = nCats - 1
                while lo < hi { let mid = (lo + hi) / 2; if catCum[mid] > u { hi = mid } else { lo = mid + 1 } }
                cat[it] = Int32(lo)
            }
            var offsets = [Int](repeating: 0, count: nCats + 1)
            for it in 0..<nItems { offsets[Int(cat[it]) + 1] += 1 }
            for k in 0..<nCats { offsets[k + 1] += offsets[k] }
            var cursor = offsets
            var members = [Int32](repeating: 0, count: nItems)
            for it in 0..<nItems {
                let k = Int(cat[it])
                members[cursor[k]] = Int32(it)
                cursor[k] += 1
            }
            var cumulative = [Double](repeating: 0, count: nItems)
            var catMass = [Double](repeating: 0, count: nCats)
            for k in 0..<nCats {
                var a = 0.0
                for j in offsets[k]..<offsets[k + 1] { a += weight[Int(members[j])]; cumulative[j] = a }
                catMass[k] = a
            }
            var cc = [Double](repeating: 0, count: nCats)
            var m = 0.0
            for k in 0..<nCats { m += catMass[k]; cc[k] = m }
            category = cat
            self.members = members
            memberOffsets = offsets
            self.cumulative = cumulative
            categoryCumulative = cc
            var succ = [Int32](repeating: 0, count: nItems * Catalog.successorCount)
            for it in 0..<nItems {
                for j in 0..<Catalog.successorCount {
                    succ[it * Catalog.successorCount + j] = Catalog.draw(cat[it], members, offsets, cumulative, &rng)
                }
            }
            successors = succ
        }

        /// A category with probability proportional to its items' total popularity.
        @inline(__always)
        func drawCategory(_ rng: inout RandomSource) -> Int32 {
            let u = rng.nextDouble() * categoryCumulative[categoryCumulative.count - 1]
            var lo = 0, hi = categoryCumulative.count - 1
            while lo < hi { let mid = (lo + hi) >> 1; if categoryCumulative[mid] > u { hi = mid } else { lo = mid + 1 } }
            // Skip empty categories (possible with few items).
            while memberOffsets[lo] == memberOffsets[lo + 1] { lo = (lo + 1) % categoryCumulative.count }
            return Int32(lo)
        }

        /// An item of `category` with probability proportional to its popularity.
        @inline(__always)
        func drawItem(in category: Int32, _ rng: inout RandomSource) -> Int32 {
            Catalog.draw(category, members, memberOffsets, cumulative, &rng)
        }

        @inline(__always)
        static func draw(_ category: Int32, _ members: [Int32], _ offsets: [Int], _ cumulative: [Double],
                         _ rng: inout RandomSource) -> Int32 {
            let a = offsets[Int(category)], b = offsets[Int(category) + 1]
            let u = rng.nextDouble() * cumulative[b - 1]
            var lo = a, hi = b - 1
            while lo < hi { let mid = (lo + hi) >> 1; if cumulative[mid] > u { hi = mid } else { lo = mid + 1 } }
            return members[lo]
        }

        /// One of `item`'s fixed successors, the first ones more likely (0.4, 0.3, 0.2, 0.1).
        @inline(__always)
        func neighbour(of item: Int32, _ rng: inout RandomSource) -> Int32 {
            let u = rng.nextInt(below: 10)
            let j = u < 4 ? 0 : (u < 7 ? 1 : (u < 9 ? 2 : 3))
            return successors[Int(item) * Catalog.successorCount + j]
        }
    }
}
