/// How a tie between the target and another item's score is counted.
public enum TieRule: String, Sendable, CaseIterable, Codable {
    /// rank = 1 + number of OTHER items scoring >= the target (ties never help the model).
    case conservative
    /// rank = 1 + number of items scoring strictly higher (what most papers compute).
    case strict
}

/// The rank of `target` among all `scores` under `ties`.
///
/// Only ranks up to `limit` matter for the metrics, so counting stops as soon as the count
/// passes `limit` (the result is then some value > `limit`). A NaN target score ranks last.
/// The loop compares 16 scores at a time and accumulates the mask lanes (-1 per hit).
@inlinable
public func rankOf(target: Int, scores: UnsafeBufferPointer<Float>, ties: TieRule, limit: Int = .max) -> Int {
    let n = scores.count
    precondition(target >= 0 && target < n, "target \(target) outside 0..<\(n)")
    let s = scores[target]
    if s.isNaN { return n }
    let base = UnsafeRawPointer(scores.baseAddress!)
    let sv = SIMD16<Float>(repeating: s)
    var higher = 0  // items counted so far (target included when conservative)
    var i = 0
    let block = 1024
    while i < n {
        let end = min(n, i + block)
        var acc = SIMD16<Int32>()
        if ties == .conservative {
            while i + 16 <= end {
                let v = base.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
                acc &-= unsafeBitCast(v .>= sv, to: SIMD16<Int32>.self)
                i += 16
            }
            while i < end { if scores[i] >= s { higher += 1 }; i += 1 }
        } else {
            while i + 16 <= end {
                let v = base.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
                acc &-= unsafeBitCast(v .> sv, to: SIMD16<Int32>.self)
                i += 16
            }
            while i < end { if scores[i] > s { higher += 1 }; i += 1 }
        }
        higher += Int(acc.wrappedSum())
        // Conservative counts include the target itself once.
        let others = ties == .conservative ? higher - 1 : higher
        if others + 1 > limit { return others + 1 }
    }
    return (ties == .conservative ? higher - 1 : higher) + 1
}
