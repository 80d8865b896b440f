import IRNData
import IRNEvaluation

/// S-POP, the "session's own items first" heuristic: items of the current session rank
/// first, by how often they occurred so far, then by how recently (last occurrence), then
/// all other items by global popularity.
///
/// Scores encode that order exactly, without ties among session items: with `f` items fed
/// so far, a session item seen `c` times, last at position `p` (1-based, p <= f), scores
/// 1 + c * (f + 1) + p, which orders by c first (p < f + 1) and then by p. Other items score
/// popularity / (max popularity + 1) in [0, 1), so popularity ties stay ties.
public struct SessionRepeatModel: Recommender {
    /// Training popularity already scaled into [0, 1).
    public let popularity: [Float]
    public var itemCount: Int { popularity.count }

    public init(popularity: [Float]) { self.popularity = popularity }

    public init(train: SessionSet, itemCount: Int) {
        let counts = PopularityModel(train: train, itemCount: itemCount).counts
        let scale = (counts.max() ?? 0) + 1
        popularity = counts.map { $0 / scale }
    }

    public func makeScorer(slots: Int) -> any SessionScorer {
        Scorer(popularity: popularity, sessions: [[Seen]](repeating: [], count: slots), fed: [Int](repeating: 0, count: slots))
    }

    struct Seen { var item: Int32; var count: Int; var last: Int }

    struct Scorer: SessionScorer {
        let popularity: [Float]
        var sessions: [[Seen]]  // distinct items of each slot's session (short lists)
        var fed: [Int]
        var itemCount: Int { popularity.count }

        mutating func reset(slot: Int) {
            sessions[slot].removeAll(keepingCapacity: true)
            fed[slot] = 0
        }

        mutating func step(inputs: UnsafeBufferPointer<Int32>, active: UnsafeBufferPointer<Bool>,
                           scores: UnsafeMutableBufferPointer<Float>) {
            let n = popularity.count
            for slot in 0..<active.count where active[slot] {
                let item = inputs[slot]
                if item >= 0 {
                    fed[slot] += 1
                    if let k = sessions[slot].firstIndex(where: { $0.item == item }) {
                        sessions[slot][k].count += 1
                        sessions[slot][k].last = fed[slot]
                    } else {
                        sessions[slot].append(Seen(item: item, count: 1, last: fed[slot]))
                    }
                }
                let row = scores.baseAddress! + slot * n
                popularity.withUnsafeBufferPointer { row.update(from: $0.baseAddress!, count: n) }
                let f = Float(fed[slot])
                for s in sessions[slot] {
                    row[Int(s.item)] = 1 + Float(s.count) * (f + 1) + Float(s.last)
                }
            }
        }
    }
}
