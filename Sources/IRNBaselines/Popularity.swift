import IRNData
import IRNEvaluation

/// POP: every session gets the same ranking, items by their number of events in training.
public struct PopularityModel: Recommender {
    /// Events per item in the training set (as Float: this is the score row).
    public let counts: [Float]
    public var itemCount: Int { counts.count }

    public init(counts: [Float]) { self.counts = counts }

    public init(train: SessionSet, itemCount: Int) {
        var c = [Float](repeating: 0, count: itemCount)
        for i in train.items { c[Int(i)] += 1 }
        counts = c
    }

    public func makeScorer(slots: Int) -> any SessionScorer { Scorer(counts: counts) }

    struct Scorer: SessionScorer {
        let counts: [Float]
        var itemCount: Int { counts.count }
        mutating func reset(slot: Int) {}
        mutating func step(inputs: UnsafeBufferPointer<Int32>, active: UnsafeBufferPointer<Bool>,
                           scores: UnsafeMutableBufferPointer<Float>) {
            let n = counts.count
            counts.withUnsafeBufferPointer { c in
                for slot in 0..<active.count where active[slot] {
                    UnsafeMutableBufferPointer(rebasing: scores[slot * n ..< (slot + 1) * n])
                        .baseAddress!.update(from: c.baseAddress!, count: n)
                }
            }
        }
    }
}
