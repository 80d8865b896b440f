/// The BPR-max loss of GRU4Rec (Hidasi & Karatzoglou 2018) on a mini-batch score matrix.
///
/// `y` is B x B (row-major): row b holds example b's scores for the B targets of the
/// mini-batch; its own target is on the diagonal, the other columns are its negatives
/// (the other items of the same mini-batch). With s = softmax over the negatives' scores:
///   L_b = -ln( sum_j s_j sigmoid(y_bb - y_bj) + 1e-24 ) + bpreg * sum_j s_j y_bj^2
/// and the batch loss is sum_b L_b * `scale` (GRU4Rec: mean over rows times rows / batch
/// size, i.e. scale = 1 / batch size). The gradient flows through the softmax weights too.
/// Rows need at least one negative (B >= 2); with B = 1 the loss is 0 and nothing moves.
public enum BPRMax {
    /// Returns the loss; writes dL/dy into `grad` (B x B).
    @discardableResult
    public static func lossAndGradient(y: UnsafePointer<Float>, batch b: Int, bpreg: Float, scale: Float,
                                       grad: UnsafeMutablePointer<Float>) -> Float {
        grad.update(repeating: 0, count: b * b)
        if b < 2 { return 0 }
        var total: Double = 0
        for row in 0..<b {
            let yr = y + row * b, gr = grad + row * b
            let pos = yr[row]
            var mx = -Float.infinity
            for j in 0..<b where j != row { mx = max(mx, yr[j]) }
            var z: Float = 0
            for j in 0..<b where j != row { z += expF(yr[j] - mx) }
            var a: Float = 0, r: Float = 0, dpos: Float = 0
            // First pass: A = sum s sigma, R = sum s y^2, and d/dpos.
            for j in 0..<b where j != row {
                let s = expF(yr[j] - mx) / z
                let sg = sigmoid(pos - yr[j])
                a += s * sg
                r += s * yr[j] * yr[j]
                dpos += s * sg * (1 - sg)
            }
            let inv = 1 / (a + 1e-24)
            total += Double(-logF(a + 1e-24) + bpreg * r)
            gr[row] = -inv * dpos * scale
            for j in 0..<b where j != row {
                let s = expF(yr[j] - mx) / z
                let sg = sigmoid(pos - yr[j])
                let dA = s * (sg - a) - s * sg * (1 - sg)
                let dR = s * (yr[j] * yr[j] - r) + 2 * s * yr[j]
                gr[j] = (-inv * dA + bpreg * dR) * scale
            }
        }
        return Float(total) * scale
    }
}
