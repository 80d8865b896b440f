/// Top-K of one score row by partial selection (a K-element min-heap, O(N log K)), not a
/// full sort. Order: higher score first, equal scores by lower item index (the order a
/// stable descending sort gives), so results are reproducible and comparable to a sort.
public struct TopKSelector {
    private var heapItems: [Int32] = []
    private var heapScores: [Float] = []

    public init() {}

    /// `a` ranks worse than `b`.
    @inline(__always)
    private static func worse(_ sa: Float, _ ia: Int32, _ sb: Float, _ ib: Int32) -> Bool {
        sa < sb || (sa == sb && ia > ib)
    }

    /// Clears the outputs and the heap for a new selection; false when there is nothing to pick.
    private mutating func begin(k: Int, items: inout [Int32], values: inout [Float]) -> Bool {
        items.removeAll(keepingCapacity: true)
        values.removeAll(keepingCapacity: true)
        guard k > 0 else { return false }
        heapItems.removeAll(keepingCapacity: true)
        heapScores.removeAll(keepingCapacity: true)
        heapItems.reserveCapacity(k)
        heapScores.reserveCapacity(k)
        return true
    }

    /// The best `k` items of `scores` (NaN scores rank last), skipping items with
    /// `excluded[item]`; writes them best first into `items` / `values` (cleared first).
    public mutating func select(_ scores: UnsafeBufferPointer<Float>, k: Int, excluded: Set<Int32>? = nil,
                                items: inout [Int32], values: inout [Float]) {
        guard begin(k: k, items: &items, values: &values) else { return }
        for j in 0..<scores.count {
            let item = Int32(j)
            if let excluded, excluded.contains(item) { continue }
            offer(scores[j], item, k: k)
        }
        finish(items: &items, values: &values)
    }

    /// The same over a subset: the best `k` of `candidates` (distinct item indices), item j
    /// scoring `scores[j]`. Equal to `select` over the full row whenever every item of the
    /// full row's top k is a candidate (the order is a total order on (score, item)).
    public mutating func select(candidates: UnsafeBufferPointer<Int32>, scores: UnsafeBufferPointer<Float>, k: Int,
                                excluded: Set<Int32>? = nil, items: inout [Int32], values: inout [Float]) {
        guard begin(k: k, items: &items, values: &values) else { return }
        for item in candidates {
            if let excluded, excluded.contains(item) { continue }
            offer(scores[Int(item)], item, k: k)
        }
        finish(items: &items, values: &values)
    }

    @inline(__always)
    private mutating func offer(_ score: Float, _ item: Int32, k: Int) {
        var s = score
        if s.isNaN { s = -.infinity }
        if heapItems.count < k {
            heapItems.append(item)
            heapScores.append(s)
            siftUp(heapItems.count - 1)
        } else if Self.worse(heapScores[0], heapItems[0], s, item) {
            heapItems[0] = item
            heapScores[0] = s
            siftDown(0)
        }
    }

    private mutating func finish(items: inout [Int32], values: inout [Float]) {
        // Pop worst-first, then reverse: best first.
        while !heapItems.isEmpty {
            items.append(heapItems[0])
            values.append(heapScores[0])
            let last = heapItems.count - 1
            heapItems.swapAt(0, last)
            heapScores.swapAt(0, last)
            heapItems.removeLast()
            heapScores.removeLast()
            if !heapItems.isEmpty { siftDown(0) }
        }
        items.reverse()
        values.reverse()
    }

    private mutating func siftUp(_ start: Int) {
        var i = start
        while i > 0 {
            let p = (i - 1) / 2
            guard Self.worse(heapScores[i], heapItems[i], heapScores[p], heapItems[p]) else { return }
            heapItems.swapAt(i, p)
            heapScores.swapAt(i, p)
            i = p
        }
    }

    private mutating func siftDown(_ start: Int) {
        var i = start
        let n = heapItems.count
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < n && Self.worse(heapScores[l], heapItems[l], heapScores[m], heapItems[m]) { m = l }
            if r < n && Self.worse(heapScores[r], heapItems[r], heapScores[m], heapItems[m]) { m = r }
            if m == i { return }
            heapItems.swapAt(i, m)
            heapScores.swapAt(i, m)
            i = m
        }
    }
}
