import IRNData
import IRNEvaluation

/// Feeds `items` one by one into slot 0 of a fresh scorer (-1 = feed nothing) and returns
/// the scores after the last one.
func scores(_ model: any Recommender, after items: [Int32], slots: Int = 1) -> [Float] {
    var scorer = model.makeScorer(slots: slots)
    scorer.reset(slot: 0)
    let n = model.itemCount
    var out = [Float](repeating: .nan, count: slots * n)
    var active = [Bool](repeating: false, count: slots)
    active[0] = true
    for item in items {
        var inputs = [Int32](repeating: -1, count: slots)
        inputs[0] = item
        inputs.withUnsafeBufferPointer { i in active.withUnsafeBufferPointer { a in
            out.withUnsafeMutableBufferPointer { scorer.step(inputs: i, active: a, scores: $0) } } }
    }
    return Array(out[0..<n])
}

/// Builds a session set from item lists, all events clicks;
/// session s gets times 1000 * (s + 1) + position.
func sessionSet(_ sessions: [[Int32]], times: [Int64]? = nil) -> SessionSet {
    var s = SessionSet()
    for (k, items) in sessions.enumerated() {
        let base = times?[k] ?? Int64(1000 * (k + 1))
        s.append(id: Int64(k), items: items, types: [UInt8](repeating: 0, count: items.count),
                 times: (0..<items.count).map { base + Int64($0) })
    }
    return s
}
