/// Branch-free element-wise maths that the compiler can vectorise. Foundation's `expf` and
/// `tanhf` are scalar calls, far too slow for the millions of activations and softmax
/// entries of one training iteration.
public enum FastMath {
    /// exp(x) for x in about [-87, 88] (clamped outside), relative error ~2e-7: Cephes'
    /// range reduction x = n ln2 + r and a degree-6 polynomial for exp(r). No traps and no
    /// float-to-int conversion, so loops over it vectorise.
    @inline(__always)
    public static func exp(_ x: Float) -> Float {
        let xc = Swift.min(Swift.max(x, -87.0), 88.0)
        // Round x / ln2 to the nearest integer with the 1.5 * 2^23 trick: n sits in the low
        // mantissa bits of t.
        let t = xc * 1.442_695_04 + 12_582_912.0
        let nf = t - 12_582_912.0
        let r = (xc - nf * 0.693_359_375) + nf * 2.121_944_4e-4
        var p: Float = 1.987_569_15e-4
        p = p * r + 1.398_199_95e-3
        p = p * r + 8.333_451_9e-3
        p = p * r + 4.166_579_6e-2
        p = p * r + 0.166_666_65
        p = p * r + 0.5
        p = p * (r * r) + r + 1
        let bits = (t.bitPattern &- 0x4B40_0000 &+ 127) &<< 23
        return p * Float(bitPattern: bits)
    }

    /// exp on 8 lanes, the same computation as `exp` (bit for bit), written with SIMD
    /// types so it vectorises whatever the compiler can prove about aliasing.
    @inline(__always)
    public static func exp(_ x: SIMD8<Float>) -> SIMD8<Float> {
        var xc = x
        xc.replace(with: SIMD8(repeating: -87.0), where: xc .< -87.0)
        xc.replace(with: SIMD8(repeating: 88.0), where: xc .> 88.0)
        let t = xc * 1.442_695_04 + 12_582_912.0
        let nf = t - 12_582_912.0
        let r = (xc - nf * 0.693_359_375) + nf * 2.121_944_4e-4
        var p = SIMD8<Float>(repeating: 1.987_569_15e-4)
        p = p * r + 1.398_199_95e-3
        p = p * r + 8.333_451_9e-3
        p = p * r + 4.166_579_6e-2
        p = p * r + 0.166_666_65
        p = p * r + 0.5
        p = p * (r * r) + r + 1
        let tb = unsafeBitCast(t, to: SIMD8<UInt32>.self)
        let bits = (tb &- 0x4B40_0000 &+ 127) &<< 23
        return p * unsafeBitCast(bits, to: SIMD8<Float>.self)
    }

    @inline(__always)
    public static func sigmoid(_ x: SIMD8<Float>) -> SIMD8<Float> { 1 / (1 + exp(-x)) }

    @inline(__always)
    public static func tanh(_ x: SIMD8<Float>) -> SIMD8<Float> {
        var a = x
        a.replace(with: -x, where: x .< 0)
        let e = exp(-2 * a)
        var t = (1 - e) / (1 + e)
        t.replace(with: -t, where: x .< 0)
        return t
    }

    @inline(__always)
    public static func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
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

    /// y[i] = exp(x[i] - shift) in place, returning the sum.
    @inline(__always)
    public static func expShiftedInPlace(_ x: UnsafeMutablePointer<Float>, count: Int, shift: Float) -> Float {
        var i = 0
        var acc = SIMD8<Float>(repeating: 0)
        while i + 8 <= count {
            let e = exp(load8(x + i) - shift)
            store8(e, x + i)
            acc += e
            i += 8
        }
        var s = acc.sum()
        while i < count { let e = exp(x[i] - shift); x[i] = e; s += e; i += 1 }
        return s
    }

    /// Elements per block of `softmaxWeights`' block sums.
    public static let sampleBlock = 64

    /// One softmax row prepared for sampling, in cache: z += bias and max in one pass, then
    /// z <- exp(z - max) with the sum of each 64-element block written to `blockSums`
    /// (ceil(count / 64) floats). Returns the total (the sequential sum of the block sums).
    @inline(__always)
    public static func softmaxWeights(_ z: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>, count: Int, blockSums: UnsafeMutablePointer<Float>) -> Float {
        var m = SIMD8<Float>(repeating: -.infinity)
        var i = 0
        while i + 8 <= count {
            let v = load8(z + i) + load8(bias + i)
            store8(v, z + i)
            m.replace(with: v, where: v .> m)
            i += 8
        }
        var zmax = m.max()
        while i < count { z[i] += bias[i]; zmax = Swift.max(zmax, z[i]); i += 1 }
        var total: Float = 0
        var b = 0
        var start = 0
        while start < count {
            let end = Swift.min(start + sampleBlock, count)
            var acc = SIMD8<Float>(repeating: 0)
            var j = start
            while j + 8 <= end { let e = exp(load8(z + j) - zmax); store8(e, z + j); acc += e; j += 8 }
            var s = acc.sum()
            while j < end { let e = exp(z[j] - zmax); z[j] = e; s += e; j += 1 }
            blockSums[b] = s
            total += s
            b += 1
            start = end
        }
        return total
    }

    /// Inverse-CDF draw from weights prepared by `softmaxWeights`: u in [0, 1) picks the
    /// block by its sum, then the item inside it (O(N/64 + 64), not O(N)).
    @inline(__always)
    public static func sampleIndex(_ w: UnsafePointer<Float>, count: Int, blockSums: UnsafePointer<Float>, total: Float, u: Float) -> Int {
        let target = u * total
        var acc: Float = 0
        var b = 0
        let blocks = (count + sampleBlock - 1) / sampleBlock
        while b < blocks - 1 && acc + blockSums[b] <= target { acc += blockSums[b]; b += 1 }
        let start = b * sampleBlock, end = Swift.min(start + sampleBlock, count)
        var last = start
        for j in start..<end {
            let e = w[j]
            acc += e
            if e > 0 { last = j }
            if acc > target { return j }
        }
        // Rounding left the target above the running sum: the block's last item with weight.
        return last
    }

    @inline(__always)
    public static func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }

    @inline(__always)
    public static func sum(_ x: UnsafePointer<Float>, count: Int) -> Float {
        var a0 = SIMD8<Float>(repeating: 0), a1 = a0
        var i = 0
        while i + 16 <= count { a0 += load8(x + i); a1 += load8(x + i + 8); i += 16 }
        var s = (a0 + a1).sum()
        while i < count { s += x[i]; i += 1 }
        return s
    }

    @inline(__always)
    public static func max(_ x: UnsafePointer<Float>, count: Int) -> Float {
        var m = SIMD8<Float>(repeating: -.infinity)
        var i = 0
        while i + 8 <= count {
            let v = load8(x + i)
            m.replace(with: v, where: v .> m)
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
        while i + 8 <= count { acc += load8(a + i) * load8(b + i); i += 8 }
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
