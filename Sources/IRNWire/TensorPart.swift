import Foundation
import IRNNumerics

// The wire's side of `TensorPart` (defined in IRNNumerics): its size on the wire and the
// checks the decoder runs on every part it receives.
extension TensorPart {
    /// Bytes this part puts on the wire (values plus row indices).
    public var payloadBytes: Int { values.count * 4 + (rows?.count ?? 0) * 4 }

    /// Checks the invariants of `TensorPart`; the decoder runs it on every part it receives.
    public func validate() throws(WireError) {
        try Self.validate(name: name, shape: shape, rows: rows, valueCount: values.count)
    }

    /// The checks of `validate()` for a part whose values are elsewhere (a `TensorPartView`).
    public static func validate(name: String, shape: [Int], rows: [Int32]?, valueCount: Int) throws(WireError) {
        guard (1...WireLimits.maxRank).contains(shape.count) else {
            throw .badTensor("\(name): rank \(shape.count) outside 1...\(WireLimits.maxRank)")
        }
        var n = 1
        for d in shape {
            guard d >= 0 else { throw .badTensor("\(name): negative dimension") }
            let (p, o) = n.multipliedReportingOverflow(by: d)
            guard !o, p <= WireLimits.maxElements else { throw .badTensor("\(name): shape \(shape) too large") }
            n = p
        }
        if let rows {
            var prev: Int32 = -1
            for r in rows {
                guard r > prev, Int(r) < shape[0] else {
                    throw .badTensor("\(name): row index \(r) out of order or outside 0..<\(shape[0])")
                }
                prev = r
            }
            let width = shape.dropFirst().reduce(1, *)
            guard valueCount == rows.count * width else {
                throw .badTensor("\(name): \(valueCount) values for \(rows.count) rows of \(width)")
            }
        } else {
            guard valueCount == n else {
                throw .badTensor("\(name): \(valueCount) values for shape \(shape)")
            }
        }
    }

    /// Writes this part into `dense` (a full tensor of `denseCount` values): dense parts replace
    /// everything, sparse parts replace their rows. Used to apply weight patches.
    public func overwrite(_ dense: inout [Float]) {
        precondition(dense.count == denseCount, "\(name): size mismatch")
        guard let rows else {
            dense = values
            return
        }
        let w = rowWidth
        dense.withUnsafeMutableBufferPointer { d in
            values.withUnsafeBufferPointer { v in
                for (i, r) in rows.enumerated() {
                    let dst = d.baseAddress! + Int(r) * w
                    dst.update(from: v.baseAddress! + i * w, count: w)
                }
            }
        }
    }

    /// The dense form of this part (missing rows are zero).
    public func densified() -> TensorPart {
        guard isSparse else { return self }
        var d = [Float](repeating: 0, count: denseCount)
        overwrite(&d)
        return .dense(name, shape: shape, values: d)
    }
}

// MARK: raw frames

enum FloatFrames {
    static func bytes(_ v: [Float]) -> [UInt8] {
        // Uninitialised then filled: no zeroing pass over a frame of many megabytes.
        [UInt8](unsafeUninitializedCapacity: v.count * 4) { out, count in
            let d = UnsafeMutableRawBufferPointer(out)
            #if _endian(little)
            v.withUnsafeBytes { d.copyMemory(from: $0) }
            #else
            for (i, x) in v.enumerated() { d.storeBytes(of: x.bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self) }
            #endif
            count = v.count * 4
        }
    }

    static func bytes(_ v: [Int32]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: v.count * 4)
        out.withUnsafeMutableBytes { d in
            for (i, x) in v.enumerated() { d.storeBytes(of: x.littleEndian, toByteOffset: 4 * i, as: Int32.self) }
        }
        return out
    }

    /// Floats from a frame, rejecting NaN and infinities (checked on the bit pattern), and
    /// with `limit` `.gradient` also magnitudes of 2^60 or more.
    static func floats(_ frame: some WireFrame, what: String, limit: ValueLimit = .finite) throws(WireError) -> [Float] {
        let n = frame.count / 4
        guard frame.count % 4 == 0 else { throw .badTensor("\(what): \(frame.count) bytes is not a whole number of floats") }
        var finite = true
        let out = [Float](unsafeUninitializedCapacity: n) { buf, count in
            frame.withUnsafeBytes { src in finite = copyFinite(src, into: buf, limit: limit) }
            count = n
        }
        guard finite else { throw limit.error(out, what: what) }
        return out
    }

    /// Which values a frame may hold: finite ones, or (gradients) finite ones below 2^60 in
    /// magnitude. Both are one test of the exponent bits: (x & exponent) + `add` reaches bit 31
    /// exactly for exponents at or above the limit (255: Inf/NaN; 127 + 60 for gradients).
    struct ValueLimit: Sendable {
        let add: UInt32
        static let finite = ValueLimit(add: 0x0080_0000)
        /// Adam squares gradients in Float32 and divides the first moment by 1 - beta1^t:
        /// gradients near Float.greatestFiniteMagnitude overflow both and turn weights into NaN
        /// (found by `irn fuzz`); below 2^60 neither can overflow.
        static let gradient = ValueLimit(add: UInt32(256 - (127 + WireLimits.maxGradientExponent)) << 23)

        var isFiniteOnly: Bool { add == Self.finite.add }

        /// The error for values that failed the test: non-finite if any is, else out of range.
        func error(_ v: UnsafeBufferPointer<Float>, what: String) -> WireError {
            if isFiniteOnly || v.contains(where: { !$0.isFinite }) { return .nonFinite(what) }
            return .outOfRange("\(what): a value of magnitude >= 2^\(WireLimits.maxGradientExponent)")
        }

        func error(_ v: [Float], what: String) -> WireError { v.withUnsafeBufferPointer { error($0, what: what) } }
    }

    /// Float32 bit patterns with an all-ones exponent (Inf or NaN) are exactly those for which
    /// (x & exponent) + 2^23 reaches bit 31: eight lanes at a time, OR-ed into an accumulator
    /// that is checked once at the end.
    @inline(__always)
    static func nonFiniteBit(_ x: SIMD8<UInt32>, _ limit: ValueLimit = .finite) -> SIMD8<UInt32> {
        (x & SIMD8(repeating: 0x7F80_0000)) &+ SIMD8(repeating: limit.add)
    }

    @inline(__always)
    static func nonFiniteBit(_ x: UInt32, _ limit: ValueLimit = .finite) -> UInt32 { (x & 0x7F80_0000) &+ limit.add }

    @inline(__always)
    static func noneNonFinite(_ acc: SIMD8<UInt32>, _ tail: UInt32) -> Bool {
        !any((acc | SIMD8(repeating: tail)) & SIMD8(repeating: 0x8000_0000) .!= 0)
    }

    /// Copies little-endian Float32s into `dst` and tells whether all are finite, in one pass.
    static func copyFinite(_ src: UnsafeRawBufferPointer, into dst: UnsafeMutableBufferPointer<Float>, limit: ValueLimit = .finite) -> Bool {
        let n = dst.count
        guard n > 0 else { return true }
        let out = UnsafeMutableRawPointer(dst.baseAddress!)
        var acc = SIMD8<UInt32>(repeating: 0)
        var i = 0
        while i + 8 <= n {
            var x = src.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<UInt32>.self)
            #if _endian(big)
            for k in 0..<8 { x[k] = x[k].byteSwapped }
            #endif
            acc |= nonFiniteBit(x, limit)
            out.storeBytes(of: x, toByteOffset: 4 * i, as: SIMD8<UInt32>.self)
            i += 8
        }
        var tail: UInt32 = 0
        while i < n {
            let x = UInt32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))
            tail |= nonFiniteBit(x, limit)
            out.storeBytes(of: x, toByteOffset: 4 * i, as: UInt32.self)
            i += 1
        }
        return noneNonFinite(acc, tail)
    }

    /// The floats of a frame read in place (copied only if the frame is not 4-byte aligned),
    /// after the same finiteness check as `floats`. Valid while the frame lives.
    static func view(_ frame: some WireFrame, what: String, limit: ValueLimit = .finite) throws(WireError) -> TensorPartView.Storage {
        guard frame.count % 4 == 0 else { throw .badTensor("\(what): \(frame.count) bytes is not a whole number of floats") }
        let n = frame.count / 4
        #if _endian(little)
        let inPlace: UnsafeBufferPointer<Float>? = frame.withUnsafeBytes { raw in
            guard n > 0 else { return UnsafeBufferPointer(start: nil, count: 0) }
            guard Int(bitPattern: raw.baseAddress!) % MemoryLayout<Float>.alignment == 0 else { return nil }
            return UnsafeBufferPointer(start: raw.baseAddress!.assumingMemoryBound(to: Float.self), count: n)
        }
        if let inPlace {
            guard allFinite(inPlace, limit: limit) else { throw limit.error(inPlace, what: what) }
            return .borrowed(inPlace)
        }
        #endif
        return .owned(try floats(frame, what: what, limit: limit))
    }

    /// Whether no value is Inf or NaN (the test of `copyFinite`, without the copy).
    static func allFinite(_ v: UnsafeBufferPointer<Float>, limit: ValueLimit = .finite) -> Bool {
        guard let base = v.baseAddress else { return true }
        let raw = UnsafeRawPointer(base)
        var acc = SIMD8<UInt32>(repeating: 0)
        var i = 0
        while i + 8 <= v.count {
            acc |= nonFiniteBit(raw.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<UInt32>.self), limit)
            i += 8
        }
        var tail: UInt32 = 0
        while i < v.count {
            tail |= nonFiniteBit(v[i].bitPattern, limit)
            i += 1
        }
        return noneNonFinite(acc, tail)
    }

    static func int32s(_ frame: some WireFrame, what: String) throws(WireError) -> [Int32] {
        guard frame.count % 4 == 0 else { throw .badTensor("\(what): \(frame.count) bytes is not a whole number of indices") }
        let n = frame.count / 4
        return [Int32](unsafeUninitializedCapacity: n) { buf, count in
            frame.withUnsafeBytes { src in
                for i in 0..<n { buf[i] = Int32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)) }
            }
            count = n
        }
    }
}
