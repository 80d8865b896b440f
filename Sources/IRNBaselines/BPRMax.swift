/// The BPR-max loss of GRU4Rec (Hidasi & Karatzoglou 2018) on a mini-batch score matrix.
///
/// `y` is B x M (row-major, M >= B): row b holds example b's scores for the B targets of the
/// mini-batch followed by M - B extra sampled items; its own target is column b, every other
/// column is a negative (the other items of the same mini-batch, then the samples). With s = softmax over the negatives' scores:
///   L_b = -ln( sum_j s_j sigmoid(y_bb - y_bj) + 1e-24 ) + bpreg * sum_j s_j y_bj^2
/// and the batch loss is sum_b L_b * `scale` (GRU4Rec: mean over rows times rows / batch
/// size, i.e. scale = 1 / batch size). The gradient flows through the softmax weights too.
/// Rows need at least one negative (M >= 2); with M = 1 the loss is 0 and nothing moves.
public enum BPRMax {
    /// Returns the loss; writes dL/dy into `grad` (B x M). `columns` defaults to B.
    @discardableResult
    public static func lossAndGradient(y: UnsafePointer<Float>, batch b: Int, columns: Int? = nil, bpreg: Float, scale: Float,
                                       grad: UnsafeMutablePointer<Float>) -> Float {
        let m = columns ?? b
        precondition(m >= b)
        grad.update(repeating: 0, count: b * m)
        if m < 2 { return 0 }
        var total: Double = 0
        for row in 0..<b {
            let yr = y + row * m, gr = grad + row * m
            let pos = yr[row]
            var mx = -Float.infinity
            for j in 0..<m where j != row { mx = max(mx, yr[j]) }
            // First pass: gr[j] holds e^(y_j - max), later the softmax weight s_j.
            var z: Float = 0
            for j in 0..<m where j != row { let e = expF(yr[j] - mx); gr[j] = e; z += e }
            let invZ = 1 / z
            var a: Float = 0, r: Float = 0, dpos: Float = 0
            for j in 0..<m where j != row {
                let s = gr[j] * invZ
                let sg = sigmoid(pos - yr[j])
                a += s * sg
                r += s * yr[j] * yr[j]
                dpos += s * sg * (1 - sg)
            }
            let inv = 1 / (a + 1e-24)
            total += Double(-logF(a + 1e-24) + bpreg * r)
            // Second pass: sigmoid again (cheaper than a second buffer of B x M floats).
            for j in 0..<m where j != row {
                let s = gr[j] * invZ
                let sg = sigmoid(pos - yr[j])
                let dA = s * (sg - a) - s * sg * (1 - sg)
                let dR = s * (yr[j] * yr[j] - r) + 2 * s * yr[j]
                gr[j] = (-inv * dA + bpreg * dR) * scale
            }
            gr[row] = -inv * dpos * scale
        }
        return Float(total) * scale
    }
}
