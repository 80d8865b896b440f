import IRNNumerics

/// Row-major C = alpha * op(A) * op(B) + beta * C (positional shorthand for `BLAS.gemm`).
@inline(__always)
func gemm(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
          _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
          _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
    BLAS.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
              beta: beta, c: c, ldc: ldc)
}

/// One step of GRU4Rec's GRU on a batch of rows, forward and backward, with the activations
/// kept for the backward pass. Buffers are sized for `capacity` rows.
///
///   a = Wx[x] + bh                         (row look-up: the input is one-hot)
///   r = sigmoid(a_r + h Wrz_r), z = sigmoid(a_z + h Wrz_z)
///   c = tanh(a_c + (r * h) Wh)
///   h' = (1 - z) * h + z * c
///
/// As in GRU4Rec, training back-propagates through one step only: the incoming state h is
/// a constant (no gradient flows into earlier steps).
public final class GRUCell {
    public let hidden: Int
    public let capacity: Int
    let a: UnsafeMutablePointer<Float>   // B x 3H: pre-activations [c | r | z]
    let gates: UnsafeMutablePointer<Float>  // B x 3H: activations [c | r | z]
    let rh: UnsafeMutablePointer<Float>  // B x H: r * h
    public let hNew: UnsafeMutablePointer<Float>  // B x H
    let da: UnsafeMutablePointer<Float>  // B x 3H: gradient of the pre-activations
    let drh: UnsafeMutablePointer<Float> // B x H

    public init(hidden: Int, capacity: Int) {
        self.hidden = hidden
        self.capacity = capacity
        func buf(_ n: Int) -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: max(n, 1))
            p.initialize(repeating: 0, count: max(n, 1))
            return p
        }
        a = buf(capacity * 3 * hidden); gates = buf(capacity * 3 * hidden); rh = buf(capacity * hidden)
        hNew = buf(capacity * hidden); da = buf(capacity * 3 * hidden); drh = buf(capacity * hidden)
    }

    deinit { for p in [a, gates, rh, hNew, da, drh] { p.deallocate() } }

    /// Forward for `b` rows: `inputs[row]` item, `h` (b x H) incoming state; result in `hNew`.
    public func forward(_ p: GRUParameters, inputs: UnsafePointer<Int32>, h: UnsafePointer<Float>, rows b: Int) {
        precondition(b <= capacity)
        let hd = hidden, w = 3 * hidden
        for row in 0..<b {
            let src = p.wx + Int(inputs[row]) * w, dst = a + row * w
            for k in 0..<w { dst[k] = src[k] + p.bh[k] }
        }
        // [r | z] pre-activations += h Wrz
        gemm(false, false, b, 2 * hd, hd, 1, h, hd, p.wrz, 2 * hd, 1, a + hd, w)
        for row in 0..<b {
            let pre = a + row * w, act = gates + row * w, hr = h + row * hd, out = rh + row * hd
            for k in 0..<(2 * hd) { act[hd + k] = sigmoid(pre[hd + k]) }
            for k in 0..<hd { out[k] = act[hd + k] * hr[k] }
        }
        // candidate pre-activation += (r * h) Wh
        gemm(false, false, b, hd, hd, 1, rh, hd, p.wh, hd, 1, a, w)
        for row in 0..<b {
            let pre = a + row * w, act = gates + row * w, hr = h + row * hd, out = hNew + row * hd
            for k in 0..<hd {
                let c = tanhF(pre[k])
                act[k] = c
                let z = act[2 * hd + k]
                out[k] = (1 - z) * hr[k] + z * c
            }
        }
    }

    /// Backward of the last `forward` given dL/dh' (b x H). Adds the dense gradients into
    /// `grad` (a GRUParameters used as a gradient buffer: bh, wrz, wh) and returns, through
    /// `inputGrad` (b x 3H), the gradient of each row's input row Wx[x] (the caller scatters
    /// it, since rows of Wx are updated sparsely).
    public func backward(_ p: GRUParameters, h: UnsafePointer<Float>, dhNew: UnsafePointer<Float>, rows b: Int,
                         grad: GRUParameters, inputGrad: UnsafeMutablePointer<Float>) {
        let hd = hidden, w = 3 * hidden
        for row in 0..<b {
            let act = gates + row * w, hr = h + row * hd, dh = dhNew + row * hd, d = da + row * w
            for k in 0..<hd {
                let c = act[k], z = act[2 * hd + k]
                d[k] = dh[k] * z * (1 - c * c)                     // candidate
                d[2 * hd + k] = dh[k] * (c - hr[k]) * z * (1 - z)  // update gate
            }
        }
        // Wh gradient: (r * h)^T dCand ; d(r * h) = dCand Wh^T
        gemm(true, false, hd, hd, b, 1, rh, hd, da, w, 1, grad.wh, hd)
        gemm(false, true, b, hd, hd, 1, da, w, p.wh, hd, 0, drh, hd)
        for row in 0..<b {
            let act = gates + row * w, hr = h + row * hd, d = da + row * w, g = drh + row * hd
            for k in 0..<hd {
                let r = act[hd + k]
                d[hd + k] = g[k] * hr[k] * r * (1 - r)  // reset gate
            }
        }
        // Wrz gradient: h^T [dR | dZ]
        gemm(true, false, hd, 2 * hd, b, 1, h, hd, da + hd, w, 1, grad.wrz, 2 * hd)
        for row in 0..<b {
            let d = da + row * w, out = inputGrad + row * w
            for k in 0..<w { grad.bh[k] += d[k]; out[k] = d[k] }
        }
    }
}
