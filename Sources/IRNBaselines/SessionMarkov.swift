import IRNData
import IRNEvaluation
import IRNNumerics

/// S-POP-Markov (`spop-markov`), the repeat-next head's signal without learning: the session's
/// own items first in S-POP order, then the last item's followers by transition count
/// (`TransitionTable` of the training split), then every other item by popularity.
///
/// Scores keep the three tiers apart: session items score as S-POP (>= 1 + (f + 1) + 1 >= 3
/// with f >= 1 items fed), followers 1 + count / (max count + 1) in [1, 2), the rest
/// popularity in [0, 1) (as `SessionRepeatModel`).
public struct SessionMarkovModel: Recommender {
    public let popularity: [Float]
    public let table: TransitionTable
    public var itemCount: Int { popularity.count }

    public init(popularity: [Float], table: TransitionTable) {
        precondition(table.items == popularity.count)
        self.popularity = popularity
        self.table = table
    }

    public init(train: SessionSet, itemCount: Int, followersPerItem: Int = 100) {
        self.init(popularity: SessionRepeatModel(train: train, itemCount: itemCount).popularity,
                  table: TransitionTable(sessionOffsets: train.offsets, items: train.items, itemCount: itemCount, followersPerItem: followersPerItem))
    }

    public func makeScorer(slots: Int) -> any SessionScorer {
        Scorer(base: SessionRepeatModel(popularity: popularity).makeScorer(slots: slots), table: table,
               last: [Int32](repeating: -1, count: slots), maxCount: (table.counts.max() ?? 0) + 1)
    }

    struct Scorer: SessionScorer {
        var base: any SessionScorer
        let table: TransitionTable
        var last: [Int32]
        let maxCount: Float
        var itemCount: Int { table.items }

        mutating func reset(slot: Int) {
            base.reset(slot: slot)
            last[slot] = -1
        }

        mutating func step(inputs: UnsafeBufferPointer<Int32>, active: UnsafeBufferPointer<Bool>,
                           scores: UnsafeMutableBufferPointer<Float>) {
            base.step(inputs: inputs, active: active, scores: scores)
            let n = table.items
            for slot in 0..<active.count where active[slot] {
                if inputs[slot] >= 0 { last[slot] = inputs[slot] }
                guard last[slot] >= 0 else { continue }
                let row = scores.baseAddress! + slot * n
                for e in table.range(of: last[slot]) {
                    let j = Int(table.followers[e])
                    if row[j] < 1 { row[j] = 1 + table.counts[e] / maxCount }  // session items keep their S-POP score
                }
            }
        }
    }
}
