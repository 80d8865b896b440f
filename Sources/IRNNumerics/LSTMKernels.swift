/// Raw pointers to every parameter tensor, valid inside `NetworkParameters.withPointers`.
public struct ParameterPointers {
    public let shape: NetworkShape
    public let inputWeights: UnsafePointer<Float>
    public let recurrentWeights: UnsafePointer<Float>
    public let gateBias: UnsafePointer<Float>
    public let policyWeights: UnsafePointer<Float>
    public let policyBias: UnsafePointer<Float>
    public let valueWeights: UnsafePointer<Float>
    public let valueBias: UnsafePointer<Float>
    /// The repeat head's W_g [4 x H] and b_g [4]; nil for the plain head.
    public let repeatGateWeights: UnsafePointer<Float>?
    public let repeatGateBias: UnsafePointer<Float>?
    /// The repeat-next head's W_n [4 x H] and b_n [4]; nil for the other heads.
    public var nextGateWeights: UnsafePointer<Float>? = nil
    public var nextGateBias: UnsafePointer<Float>? = nil
}

extension NetworkParameters {
    /// Calls `body` with stable pointers to all tensors (no copies).
    public func withPointers<R>(_ body: (ParameterPointers) throws -> R) rethrows -> R {
        try tensors[0].withUnsafeBufferPointer { wx in
            try tensors[1].withUnsafeBufferPointer { wh in
                try tensors[2].withUnsafeBufferPointer { b in
                    try tensors[3].withUnsafeBufferPointer { wp in
                        try tensors[4].withUnsafeBufferPointer { bp in
                            try tensors[5].withUnsafeBufferPointer { wv in
                                try tensors[6].withUnsafeBufferPointer { bv in
                                    func make(_ gw: UnsafePointer<Float>?, _ gb: UnsafePointer<Float>?) -> ParameterPointers {
                                        ParameterPointers(
                                            shape: shape, inputWeights: wx.baseAddress!, recurrentWeights: wh.baseAddress!,
                                            gateBias: b.baseAddress!, policyWeights: wp.baseAddress!, policyBias: bp.baseAddress!,
                                            valueWeights: wv.baseAddress!, valueBias: bv.baseAddress!,
                                            repeatGateWeights: gw, repeatGateBias: gb)
                                    }
                                    guard tensors.count > ParameterGroup.repeatGateBias.rawValue else { return try body(make(nil, nil)) }
                                    return try tensors[7].withUnsafeBufferPointer { gw in
                                        try tensors[8].withUnsafeBufferPointer { gb in
                                            guard tensors.count > ParameterGroup.nextGateBias.rawValue else { return try body(make(gw.baseAddress!, gb.baseAddress!)) }
                                            return try tensors[9].withUnsafeBufferPointer { nw in
                                                try tensors[10].withUnsafeBufferPointer { nb in
                                                    var q = make(gw.baseAddress!, gb.baseAddress!)
                                                    q.nextGateWeights = nw.baseAddress!
                                                    q.nextGateBias = nb.baseAddress!
                                                    return try body(q)
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The element-wise halves of an LSTM step; the matrix halves are BLAS calls by the caller.
public enum LSTMKernels {
    /// Given gates[r] = hPrev[r] W_h (pre-activation), adds the input row W_x[item] (skipped
    /// for item < 0) and the bias, applies the gate non-linearities in place and writes
    /// c = f * cPrev + i * g and h = o * tanh(c). `c` may alias `cPrev`.
    @inline(__always)
    public static func forwardCells(
        rows: Int, hidden H: Int, items: UnsafePointer<Int32>, itemStride: Int = 1,
        inputWeights wx: UnsafePointer<Float>, bias: UnsafePointer<Float>,
        gates: UnsafeMutablePointer<Float>, cPrev: UnsafePointer<Float>,
        c: UnsafeMutablePointer<Float>, tanhC: UnsafeMutablePointer<Float>, h: UnsafeMutablePointer<Float>
    ) {
        let G = 4 * H
        Parallel.chunks(rows, minChunk: 64) { _, range in
        for r in range {
            let g = gates + r * G
            let item = Int(items[r * itemStride])
            if item >= 0 {
                let x = wx + item * G
                for j in 0..<G { g[j] += x[j] + bias[j] }
            } else {
                for j in 0..<G { g[j] += bias[j] }
            }
            let cp = cPrev + r * H, cr = c + r * H, hr = h + r * H, tr = tanhC + r * H
            var j = 0
            while j + 8 <= H {
                let i = FastMath.sigmoid(FastMath.load8(g + j))
                let f = FastMath.sigmoid(FastMath.load8(g + H + j))
                let gg = FastMath.tanh(FastMath.load8(g + 2 * H + j))
                let o = FastMath.sigmoid(FastMath.load8(g + 3 * H + j))
                FastMath.store8(i, g + j); FastMath.store8(f, g + H + j)
                FastMath.store8(gg, g + 2 * H + j); FastMath.store8(o, g + 3 * H + j)
                let cj = f * FastMath.load8(cp + j) + i * gg
                let tc = FastMath.tanh(cj)
                FastMath.store8(cj, cr + j)
                FastMath.store8(tc, tr + j)
                FastMath.store8(o * tc, hr + j)
                j += 8
            }
            while j < H {
                let i = FastMath.sigmoid(g[j])
                let f = FastMath.sigmoid(g[H + j])
                let gg = FastMath.tanh(g[2 * H + j])
                let o = FastMath.sigmoid(g[3 * H + j])
                g[j] = i; g[H + j] = f; g[2 * H + j] = gg; g[3 * H + j] = o
                let cj = f * cp[j] + i * gg
                let tc = FastMath.tanh(cj)
                cr[j] = cj
                tr[j] = tc
                hr[j] = o * tc
                j += 1
            }
        }
        }
    }

    /// Backward through the element-wise part of a step. In: activated gates, cPrev, tanh(c),
    /// dh (total gradient on h) and dc (gradient on c from later steps). Out: dGates
    /// (pre-activation) and dc overwritten by the gradient on cPrev.
    @inline(__always)
    public static func backwardCells(
        rows: Int, hidden H: Int, gates: UnsafePointer<Float>, cPrev: UnsafePointer<Float>,
        tanhC: UnsafePointer<Float>, dh: UnsafePointer<Float>, dc: UnsafeMutablePointer<Float>,
        dGates: UnsafeMutablePointer<Float>
    ) {
        let G = 4 * H
        Parallel.chunks(rows, minChunk: 64) { _, range in
        for r in range {
            let g = gates + r * G, dg = dGates + r * G
            let cp = cPrev + r * H, tc = tanhC + r * H, dhr = dh + r * H, dcr = dc + r * H
            var j = 0
            while j + 8 <= H {
                let i = FastMath.load8(g + j), f = FastMath.load8(g + H + j)
                let gg = FastMath.load8(g + 2 * H + j), o = FastMath.load8(g + 3 * H + j)
                let t = FastMath.load8(tc + j), dhj = FastMath.load8(dhr + j)
                let dcj = FastMath.load8(dcr + j) + dhj * o * (1 - t * t)
                FastMath.store8(dcj * gg * i * (1 - i), dg + j)
                FastMath.store8(dcj * FastMath.load8(cp + j) * f * (1 - f), dg + H + j)
                FastMath.store8(dcj * i * (1 - gg * gg), dg + 2 * H + j)
                FastMath.store8(dhj * t * o * (1 - o), dg + 3 * H + j)
                FastMath.store8(dcj * f, dcr + j)
                j += 8
            }
            while j < H {
                let i = g[j], f = g[H + j], gg = g[2 * H + j], o = g[3 * H + j]
                let t = tc[j]
                let dcj = dcr[j] + dhr[j] * o * (1 - t * t)
                dg[j] = dcj * gg * i * (1 - i)
                dg[H + j] = dcj * cp[j] * f * (1 - f)
                dg[2 * H + j] = dcj * i * (1 - gg * gg)
                dg[3 * H + j] = dhr[j] * t * o * (1 - o)
                dcr[j] = dcj * f
                j += 1
            }
        }
        }
    }

    /// One inference step for `rows` independent rows: (h, c) <- LSTM(items, (h, c)) in place.
    /// `gates` is scratch of rows x 5H (4H gates, then H for tanh(c)). Rows with item < 0 still step (bias-only input); use
    /// `RecurrentState` scoring for keep-state semantics.
    public static func inferenceStep(
        _ p: ParameterPointers, rows: Int, items: UnsafePointer<Int32>, itemStride: Int = 1,
        h: UnsafeMutablePointer<Float>, c: UnsafeMutablePointer<Float>, gates: UnsafeMutablePointer<Float>,
        zeroStateRows: Int = 0, recorder: GemmRecorder? = nil
    ) {
        let H = p.shape.hidden
        // The last `zeroStateRows` rows start from h = 0: their recurrent product is exactly
        // zero, so only the others go through the sgemm (a session's first step costs none).
        let dense = rows - zeroStateRows
        if dense > 0 {
            BLAS.gemm(m: dense, n: 4 * H, k: H, a: h, lda: H, b: p.recurrentWeights, ldb: 4 * H,
                      beta: 0, c: gates, ldc: 4 * H, recorder: recorder)
        }
        if zeroStateRows > 0 { (gates + dense * 4 * H).update(repeating: 0, count: zeroStateRows * 4 * H) }
        forwardCells(rows: rows, hidden: H, items: items, itemStride: itemStride, inputWeights: p.inputWeights,
                     bias: p.gateBias, gates: gates, cPrev: c, c: c, tanhC: gates + rows * 4 * H, h: h)
    }

    /// logits[r] = h[r] W_p + b_p for `rows` rows (one sgemm).
    public static func logits(
        _ p: ParameterPointers, rows: Int, h: UnsafePointer<Float>, ldh: Int? = nil,
        out: UnsafeMutablePointer<Float>, recorder: GemmRecorder? = nil
    ) {
        let H = p.shape.hidden, N = p.shape.items
        BLAS.gemm(transB: true, m: rows, n: N, k: H, a: h, lda: ldh ?? H, b: p.policyWeights, ldb: H,
                  beta: 0, c: out, ldc: N, recorder: recorder)
        for r in 0..<rows {
            let z = out + r * N
            for j in 0..<N { z[j] += p.policyBias[j] }
        }
    }

    /// V = h . w_v + b_v for `rows` rows.
    public static func values(_ p: ParameterPointers, rows: Int, h: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>) {
        let H = p.shape.hidden
        for r in 0..<rows { out[r] = FastMath.dot(h + r * H, p.valueWeights, count: H) + p.valueBias[0] }
    }
}
