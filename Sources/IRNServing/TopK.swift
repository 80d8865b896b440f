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

    /// The best `k` items of `scores` (NaN scores rank last), skipping items with
    /// `excluded[item]`; writes them best first into `items` / `values` (cleared first).
    public mutating func select(_ scores: UnsafeBufferPointer<Float>, k: Int, excluded: Set<Int32>? = nil,
                                items: inout [Int32], values: inout [Float]) {
        items.removeAll(keepingCapacity: true)
        values.removeAll(keepingCapacity: true)
        guard k > 0 else { return }
        heapItems.removeAll(keepingCapacity: true)
        heapScores.removeAll(keepingCapacity: true)
        heapItems.reserveCapacity(k)
        heapScores.reserveCapacity(k)
        for j in 0..<scores.count {
            var s = scores[j]
            if s.isNaN { s = -.infinity }
            let item = Int32(j)
            if let excluded, excluded.contains(item) { continue }
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
