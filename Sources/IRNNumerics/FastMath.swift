/// Branch-free element-wise maths that the compiler can vectorise. Foundation's `expf` and
/// `tanhf` are scalar calls, far too slow for the millions of activations and softmax
/// entries of one training iteration.
public enum FastMath {
    /// exp(x) for x in about [-87, 88] (clamped outside), relative error ~2e-7: Cephes'
    /// range reduction x = n ln2 + r and a degree-6 polynomial for exp(r).
    @inline(__always)
    public static func exp(_ x: Float) -> Float {
        let xc = Swift.min(Swift.max(x, -87.0), 88.0)
        // Round x / ln2 to the nearest integer with the 1.5 * 2^23 trick (no branch, no libm).
        let nf = (xc * 1.442_695_04 + 12_582_912.0) - 12_582_912.0
        let r = (xc - nf * 0.693_359_375) + nf * 2.121_944_4e-4
        var p: Float = 1.987_569_15e-4
        p = p * r + 1.398_199_95e-3
        p = p * r + 8.333_451_9e-3
        p = p * r + 4.166_579_6e-2
        p = p * r + 0.166_666_65
        p = p * r + 0.5
        p = p * (r * r) + r + 1
        let bits = UInt32(bitPattern: (Int32(nf) &+ 127) << 23)
        return p * Float(bitPattern: bits)
    }

    @inline(__always)
    public static func sigmoid(_ x: Float) -> Float { 1 / (1 + exp(-x)) }

    /// tanh through exp(-2|x|): exact to a few ulps away from 0, ~1e-7 absolute near 0.
    @inline(__always)
    public static func tanh(_ x: Float) -> Float {
        let e = exp(-2 * Swift.abs(x))
        let t = (1 - e) / (1 + e)
        return x < 0 ? -t : t
    }

    /// y[i] = exp(x[i] - shift) in place, returning the sum (accumulated in 8 lanes).
    @inline(__always)
    public static func expShiftedInPlace(_ x: UnsafeMutablePointer<Float>, count: Int, shift: Float) -> Float {
        var acc = SIMD8<Float>(repeating: 0)
        var i = 0
        while i + 8 <= count {
            var v = SIMD8<Float>(repeating: 0)
            for l in 0..<8 { let e = exp(x[i + l] - shift); x[i + l] = e; v[l] = e }
            acc += v
            i += 8
        }
        var s = acc.sum()
        while i < count { let e = exp(x[i] - shift); x[i] = e; s += e; i += 1 }
        return s
    }

    @inline(__always)
    public static func max(_ x: UnsafePointer<Float>, count: Int) -> Float {
        var m = SIMD8<Float>(repeating: -.infinity)
        var i = 0
        while i + 8 <= count {
            var v = SIMD8<Float>(repeating: 0)
            for l in 0..<8 { v[l] = x[i + l] }
            m = pointwiseMax(m, v)
            i += 8
        }
        var r = m.max()
        while i < count { r = Swift.max(r, x[i]); i += 1 }
        return r
    }

    @inline(__always)
    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        var acc = SIMD8<Float>(repeating: 0)
        var i = 0
        while i + 8 <= count {
            var va = SIMD8<Float>(repeating: 0), vb = SIMD8<Float>(repeating: 0)
            for l in 0..<8 { va[l] = a[i + l]; vb[l] = b[i + l] }
            acc += va * vb
            i += 8
        }
        var s = acc.sum()
        while i < count { s += a[i] * b[i]; i += 1 }
        return s
    }

    /// y += alpha * x
    @inline(__always)
    public static func axpy(_ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { y[i] += alpha * x[i] }
    }
}
