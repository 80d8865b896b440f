// bfloat16 on the wire: the upper 16 bits of a Float32, rounded to nearest even. Chosen over
// IEEE fp16 because it keeps Float32's exponent range: a gradient needs no per-tensor scale,
// cannot overflow to Inf, and the finiteness check stays a test of the exponent bits. Its
// 8-bit mantissa (relative error <= 2^-9) is what the actor's error feedback absorbs
// (`PushAccumulator` keeps the rounding residual and adds it to the next push).

/// Float32 <-> bfloat16 conversions.
public enum BF16 {
    /// The nearest bfloat16 (ties to even); finite inputs stay finite (a value that would
    /// round up to Inf is truncated to the largest finite one instead).
    @inline(__always)
    public static func bits(_ x: Float) -> UInt16 {
        let b = x.bitPattern
        let rounded = UInt16(truncatingIfNeeded: (b &+ 0x7FFF &+ ((b >> 16) & 1)) >> 16)
        if (rounded & 0x7F80) == 0x7F80 && (b & 0x7F80_0000) != 0x7F80_0000 {
            return UInt16(truncatingIfNeeded: b >> 16)
        }
        return rounded
    }

    @inline(__always)
    public static func float(_ h: UInt16) -> Float { Float(bitPattern: UInt32(h) << 16) }

    /// `x` rounded to the nearest bfloat16, as a Float32 (exactly representable in bf16).
    @inline(__always)
    public static func rounded(_ x: Float) -> Float { float(bits(x)) }
}

extension FloatFrames {
    /// Little-endian bfloat16 bytes of `v` (2 per value).
    static func bf16Bytes(_ v: [Float]) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: v.count * 2) { out, count in
            for (i, x) in v.enumerated() {
                let h = BF16.bits(x)
                out[2 * i] = UInt8(truncatingIfNeeded: h)
                out[2 * i + 1] = UInt8(truncatingIfNeeded: h >> 8)
            }
            count = v.count * 2
        }
    }

    /// Float32s from a frame of bfloat16s, rejecting NaN and infinities (all-ones exponent).
    static func bf16Floats(_ frame: some WireFrame, what: String, limit: ValueLimit = .finite) throws(WireError) -> [Float] {
        guard frame.count % 2 == 0 else { throw .badTensor("\(what): \(frame.count) bytes is not a whole number of bfloat16s") }
        let n = frame.count / 2
        var finite = true
        let out = [Float](unsafeUninitializedCapacity: n) { buf, count in
            frame.withUnsafeBytes { src in
                var bad: UInt16 = 0
                for i in 0..<n {
                    let h = UInt16(src[2 * i]) | UInt16(src[2 * i + 1]) << 8
                    bad |= UInt16(truncatingIfNeeded: nonFiniteBit(UInt32(h) << 16, limit) >> 31)
                    buf[i] = BF16.float(h)
                }
                finite = bad == 0
            }
            count = n
        }
        guard finite else { throw limit.error(out, what: what) }
        return out
    }
}
