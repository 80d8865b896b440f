import IRNData
import IRNEvaluation

/// Similarity between the current session's item set A and a past session's item set B.
public enum KNNSimilarity: String, Sendable, CaseIterable {
    /// |A ∩ B| / sqrt(|A| |B|).
    case cosine
    /// |A ∩ B| / sqrt(|A|) * sqrt(|B|): the operator-precedence slip of the public reference
    /// code (session-rec's ContextKNN), available to reproduce its numbers exactly.
    case referenceCosine = "reference-cosine"
}

/// Session-based kNN (Jannach & Ludewig 2017, "When recurrent neural networks meet the
/// neighborhood for session-based recommendation"; "CKNN" / "SKNN").
///
/// For the current session's items so far (as a set): candidate neighbours are the training
/// sessions sharing at least one item with it; of those, the `sampleSize` most recent (by the
/// time of their last event) are kept; the `k` most similar of these are the neighbours; an
/// item's score is the sum of the similarities of the neighbours that contain it (0 if none).
///
/// Choices where the reference is silent or non-deterministic (written down here):
/// recency ties are broken by position in the training set (later = more recent);
/// similarity ties when picking the k nearest by recency (more recent first);
/// the items of the current session are not excluded from the scores (as in the reference).
public struct SessionKNNModel: Recommender {
    public struct Config: Sendable, Equatable {
        public var k: Int = 100
        public var sampleSize: Int = 500
        public var similarity: KNNSimilarity = .cosine
        public init(k: Int = 100, sampleSize: Int = 500, similarity: KNNSimilarity = .cosine) {
            self.k = k
            self.sampleSize = sampleSize
            self.similarity = similarity
        }
    }

    public let config: Config
    public let itemCount: Int
    /// Training sessions ordered from most to least recent: session r owns the distinct,
    /// ascending items `sessionItems[sessionOffsets[r] ..< sessionOffsets[r + 1]]`.
    public let sessionOffsets: [Int32]
    public let sessionItems: [Int32]
    /// Item -> sessions holding it, as recency ranks in ascending order (most recent first).
    let itemOffsets: [Int32]
    let itemSessions: [Int32]

    public var sessionCount: Int { sessionOffsets.count - 1 }

    /// Indexes `train`: distinct item sets, ordered by the time of each session's last event.
    public init(train: SessionSet, itemCount: Int, config: Config = Config()) {
        var last = [Int64](repeating: .min, count: train.count)
        for s in 0..<train.count { for e in train.range(of: s) { last[s] = max(last[s], train.times[e]) } }
        let order = (0..<train.count).sorted { a, b in last[a] != last[b] ? last[a] > last[b] : a > b }
        var offsets: [Int32] = [0]
        var items: [Int32] = []
        for s in order {
            let distinct = Set(train.items[train.range(of: s)]).sorted()
            items.append(contentsOf: distinct)
            offsets.append(Int32(items.count))
        }
        self.init(sessionOffsets: offsets, sessionItems: items, itemCount: itemCount, config: config)
    }

    /// From already ordered distinct item sets (what a model file stores).
    public init(sessionOffsets: [Int32], sessionItems: [Int32], itemCount: Int, config: Config) {
        self.config = config
        self.itemCount = itemCount
        self.sessionOffsets = sessionOffsets
        self.sessionItems = sessionItems
        // Counting sort into the inverted index; visiting sessions in recency order keeps
        // each item's list ascending.
        var counts = [Int32](repeating: 0, count: itemCount + 1)
        for i in sessionItems { counts[Int(i) + 1] += 1 }
        for i in 0..<itemCount { counts[i + 1] += counts[i] }
        var fill = counts
        var index = [Int32](repeating: 0, count: sessionItems.count)
        for r in 0..<(sessionOffsets.count - 1) {
            for e in Int(sessionOffsets[r])..<Int(sessionOffsets[r + 1]) {
                let item = Int(sessionItems[e])
                index[Int(fill[item])] = Int32(r)
                fill[item] += 1
            }
        }
        itemOffsets = counts
        itemSessions = index
    }

    public func makeScorer(slots: Int) -> any SessionScorer { Scorer(model: self, slots: slots) }

    /// The neighbours of an item set (distinct items), most similar first: (recency rank,
    /// similarity). Exposed for tests; the scorer uses the same code.
    public func neighbours(of items: [Int32]) -> [(session: Int, similarity: Float)] {
        var s = Scorer(model: self, slots: 1)
        s.current[0] = items
        return s.findNeighbours(slot: 0).map { (Int($0.session), $0.similarity) }
    }

    struct Neighbour { var session: Int32; var similarity: Float }

    struct Scorer: SessionScorer {
        let model: SessionKNNModel
        var current: [[Int32]]  // distinct items of each slot's session, in order of arrival
        var itemStamp: [UInt32]
        var sessionStamp: [UInt32]
        var stamp: UInt32 = 0
        var heap: [(rank: Int32, list: Int32, pos: Int32)] = []
        var candidates: [Int32] = []
        var found: [Neighbour] = []
        var itemCount: Int { model.itemCount }

        init(model: SessionKNNModel, slots: Int) {
            self.model = model
            current = [[Int32]](repeating: [], count: slots)
            itemStamp = [UInt32](repeating: 0, count: model.itemCount)
            sessionStamp = [UInt32](repeating: 0, count: model.sessionCount)
        }

        mutating func reset(slot: Int) { current[slot].removeAll(keepingCapacity: true) }

        mutating func step(inputs: UnsafeBufferPointer<Int32>, active: UnsafeBufferPointer<Bool>,
                           scores: UnsafeMutableBufferPointer<Float>) {
            let n = model.itemCount
            for slot in 0..<active.count where active[slot] {
                let item = inputs[slot]
                if item >= 0 && !current[slot].contains(item) { current[slot].append(item) }
                let row = UnsafeMutableBufferPointer(rebasing: scores[slot * n ..< (slot + 1) * n])
                row.update(repeating: 0)
                let neighbours = findNeighbours(slot: slot)
                model.sessionOffsets.withUnsafeBufferPointer { off in
                    model.sessionItems.withUnsafeBufferPointer { its in
                        for nb in neighbours {
                            for e in Int(off[Int(nb.session)])..<Int(off[Int(nb.session) + 1]) {
                                row[Int(its[e])] += nb.similarity
                            }
                        }
                    }
                }
            }
        }

        /// Sample (most recent sessions sharing an item) then the k nearest of the sample.
        mutating func findNeighbours(slot: Int) -> [Neighbour] {
            let items = current[slot]
            found.removeAll(keepingCapacity: true)
            if items.isEmpty { return found }
            stamp &+= 1
            if stamp == 0 {  // wrapped: clear the stamps once every 2^32 steps
                itemStamp.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
                sessionStamp.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
                stamp = 1
            }
            for i in items { itemStamp[Int(i)] = stamp }
            sampleRecent(items)
            let la = Float(items.count)
            let sim = model.config.similarity
            model.sessionOffsets.withUnsafeBufferPointer { off in
                model.sessionItems.withUnsafeBufferPointer { its in
                    for r in candidates {
                        let lo = Int(off[Int(r)]), hi = Int(off[Int(r) + 1])
                        var common = 0
                        for e in lo..<hi where itemStamp[Int(its[e])] == stamp { common += 1 }
                        let lb = Float(hi - lo)
                        let s: Float = sim == .cosine
                            ? Float(common) / (la * lb).squareRoot()
                            : Float(common) / la.squareRoot() * lb.squareRoot()
                        if s > 0 { found.append(Neighbour(session: r, similarity: s)) }
                    }
                }
            }
            // k nearest; equal similarity: the more recent (smaller rank) first.
            found.sort { $0.similarity != $1.similarity ? $0.similarity > $1.similarity : $0.session < $1.session }
            if found.count > model.config.k { found.removeLast(found.count - model.config.k) }
            return found
        }

        /// `candidates` = the `sampleSize` most recent sessions holding any of `items`:
        /// a k-way merge of the items' recency-sorted session lists, skipping duplicates.
        mutating func sampleRecent(_ items: [Int32]) {
            candidates.removeAll(keepingCapacity: true)
            heap.removeAll(keepingCapacity: true)
            let limit = model.config.sampleSize > 0 ? model.config.sampleSize : Int.max
            model.itemOffsets.withUnsafeBufferPointer { off in
                model.itemSessions.withUnsafeBufferPointer { lists in
                    for i in items {
                        let lo = off[Int(i)], hi = off[Int(i) + 1]
                        if lo < hi { heapPush((lists[Int(lo)], i, lo)) }
                    }
                    while let top = heap.first, candidates.count < limit {
                        if sessionStamp[Int(top.rank)] != stamp {
                            sessionStamp[Int(top.rank)] = stamp
                            candidates.append(top.rank)
                        }
                        let next = top.pos + 1
                        if next < off[Int(top.list) + 1] {
                            heap[0] = (lists[Int(next)], top.list, next)
                            siftDown(0)
                        } else {
                            let lastEntry = heap.removeLast()
                            if !heap.isEmpty { heap[0] = lastEntry; siftDown(0) }
                        }
                    }
                }
            }
        }

        private mutating func heapPush(_ x: (rank: Int32, list: Int32, pos: Int32)) {
            heap.append(x)
            var c = heap.count - 1
            while c > 0 {
                let p = (c - 1) / 2
                if heap[p].rank <= heap[c].rank { break }
                heap.swapAt(p, c)
                c = p
            }
        }

        private mutating func siftDown(_ start: Int) {
            var p = start
            let n = heap.count
            while true {
                let l = 2 * p + 1, r = l + 1
                var m = p
                if l < n && heap[l].rank < heap[m].rank { m = l }
                if r < n && heap[r].rank < heap[m].rank { m = r }
                if m == p { return }
                heap.swapAt(p, m)
                p = m
            }
        }
    }
}
