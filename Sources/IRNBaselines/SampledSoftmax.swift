/// The cross-entropy loss of GRU4Rec (the reference's `loss=cross-entropy`) on a mini-batch
/// score matrix laid out as `BPRMax`'s: `y` is B x M, row b's target is column b, and every
/// other column (the other rows' targets, then the extra samples) is a negative. With
/// p = softmax over the row's M columns:
///   L_b = -ln p_bb,   dL_b/dy_bj = p_bj - [j = b]
/// and the batch loss is sum_b L_b * `scale`. A negative that happens to be the same item as
/// the target stays a separate column, as in the reference (no masking).
public enum SampledSoftmax {
    /// Returns the loss; writes dL/dy into `grad` (B x M). `columns` defaults to B.
    @discardableResult
    public static func lossAndGradient(y: UnsafePointer<Float>, batch b: Int, columns: Int? = nil, scale: Float,
                                       grad: UnsafeMutablePointer<Float>) -> Float {
        let m = columns ?? b
        precondition(m >= b)
        var total: Double = 0
        for row in 0..<b {
            let yr = y + row * m, gr = grad + row * m
            var mx = -Float.infinity
            for j in 0..<m { mx = max(mx, yr[j]) }
            var z: Float = 0
            for j in 0..<m { let e = expF(yr[j] - mx); gr[j] = e; z += e }
            let invZ = 1 / z
            total += Double(logF(z) + mx - yr[row])
            for j in 0..<m { gr[j] *= invZ * scale }
            gr[row] -= scale
        }
        return Float(total) * scale
    }
}
